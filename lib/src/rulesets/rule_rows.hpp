#pragma once
// Private: rules rows <-> RuleDefinition, shared by the store and the active-rule loader.

#include "db/tx.hpp"

#include <loyalty/rules/definition.hpp>
#include <loyalty/rulesets/rulesets.hpp>

#include <string>

namespace loyalty::rulesets {

/// The SELECT list rule_from_row reads, over rules `r` joined with rewards `w`, budgets `b`
/// (the rule's) and campaigns `c` (all tenant-keyed joins, b and c LEFT).
inline constexpr const char* kRuleColumns =
    "r.id::text, r.name, r.description, r.event_type, r.conditions::text, r.reward_id::text, "
    "w.name, r.budget_id::text, b.name, r.campaign_id::text, c.name, r.per_customer_max, "
    "r.per_customer_period, r.global_max, r.global_period, r.cooldown_seconds, r.priority, "
    "r.active, to_char(r.valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
    "to_char(r.valid_until AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
    "r.stop_processing, "
    "to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "to_char(r.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

inline constexpr const char* kRuleJoins =
    "JOIN rewards w ON w.tenant_id = r.tenant_id AND w.id = r.reward_id "
    "LEFT JOIN budgets b ON b.tenant_id = r.tenant_id AND b.id = r.budget_id "
    "LEFT JOIN campaigns c ON c.tenant_id = r.tenant_id AND c.id = r.campaign_id";

/// A stored rule from a row of kRuleColumns (references in the definition as names).
StoredRule rule_from_row(const pqxx::row& r);

}  // namespace loyalty::rulesets
