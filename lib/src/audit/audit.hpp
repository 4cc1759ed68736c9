#pragma once
// Private: modules write audit rows inside the transaction of the change they record.

#include "db/tx.hpp"

#include <loyalty/core/actor.hpp>
#include <nlohmann/json.hpp>

namespace loyalty::audit {

/// Records who changed what (before/after JSON; null when absent) in the current transaction.
void record(db::Tx& tx, const std::string& tenant_id, const Actor& actor, const std::string& action,
            const std::string& entity_type, const std::string& entity_id,
            const nlohmann::json& before, const nlohmann::json& after);

}  // namespace loyalty::audit
