#pragma once
// Private: where the event pipeline and the worker have a customer's tier evaluated, inside
// their transaction, the customer locked. Both only upgrade; downgrades are the recompute's
// (tiers.hpp). The evaluation itself is tiers_evaluate (migration 0130): one statement.

#include "db/tx.hpp"

#include <string>
#include <vector>

namespace loyalty::tiers {

/// After an event's rules: upgrades the event's customer when the event changes the tenant's
/// measure — a `purchase` when it is amount spent. `measure` is the tenant's, as the rules cache
/// read it (empty: the tenant has no tiers, and this does nothing, not even a query).
void after_event(db::Tx& tx, const std::string& measure, const std::string& tenant_id,
                 const std::string& customer_id, const std::string& event_id,
                 const std::string& event_type);

/// After the worker credited earned points to these customers: upgrades them when the tenant's
/// measure is points earned (one statement for them all; a tenant without tiers reads its
/// missing policy and nothing else).
void after_points_earned(db::Tx& tx, const std::string& tenant_id,
                         const std::vector<std::string>& customer_ids);

}  // namespace loyalty::tiers
