#pragma once
// Private: the rule set of the event pipeline, read inside its transaction (tenant set).

#include "db/tx.hpp"

#include <loyalty/rulesets/rulesets.hpp>

namespace loyalty::rulesets {

/// The rules that fire at the transaction's clock (app_now()); see the public overload.
ActiveRuleSet load_active_rules(db::Tx& tx, const std::string& tenant_id);

/// tenants.rules_version: compare with ActiveRuleSet::version to know a cached set is stale.
std::int64_t rules_version(db::Tx& tx, const std::string& tenant_id);

}  // namespace loyalty::rulesets
