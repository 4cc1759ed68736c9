// The rule set the event pipeline evaluates: what fires at the transaction's clock.
#include "rulesets/active.hpp"

#include "rulesets/rule_rows.hpp"

namespace loyalty::rulesets {

namespace {

// A rule fires when it, its reward and its campaign (if any) are switched on and the clock is
// inside all their date windows.
#define LOYALTY_RULE_IN_PLAY                    \
  "r.tenant_id = $1 AND r.active AND w.active " \
  "AND (r.campaign_id IS NULL OR c.status = 'active') "
#define LOYALTY_WINDOW(from, until)                                                  \
  "AND (" from " IS NULL OR " from " <= app_now()) AND (" until " IS NULL OR " until \
  " > app_now()) "

const std::string kActiveSql =
    std::string("SELECT ") + kRuleColumns +
    ", coalesce(r.budget_id, c.budget_id, w.budget_id)::text FROM rules r " + kRuleJoins +
    " WHERE " LOYALTY_RULE_IN_PLAY LOYALTY_WINDOW("r.valid_from", "r.valid_until")
        LOYALTY_WINDOW("w.valid_from", "w.valid_until")
            LOYALTY_WINDOW("c.starts_at", "c.ends_at") "ORDER BY r.priority DESC, r.name";
const db::Query kActive{"rules_active", kActiveSql.c_str()};

const std::string kNextChangeSql =
    std::string(
        "SELECT to_char(min(x) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM ("
        "SELECT unnest(ARRAY[r.valid_from, r.valid_until, w.valid_from, w.valid_until, "
        "c.starts_at, c.ends_at]) AS x FROM rules r ") +
    kRuleJoins + " WHERE " LOYALTY_RULE_IN_PLAY ") s WHERE x > app_now()";
const db::Query kNextChange{"rules_next_change", kNextChangeSql.c_str()};

const db::Query kVersion{"rules_version", "SELECT rules_version FROM tenants WHERE id = $1"};

}  // namespace

std::int64_t rules_version(db::Tx& tx, const std::string& tenant_id) {
  auto rows = tx.exec(kVersion, tenant_id);
  if (rows.empty()) throw_not_found("tenant '" + tenant_id + "'");
  return rows[0][0].as<std::int64_t>();
}

ActiveRuleSet load_active_rules(db::Tx& tx, const std::string& tenant_id) {
  ActiveRuleSet out;
  out.version = rules_version(tx, tenant_id);
  for (const auto& row : tx.exec(kActive, tenant_id)) {
    StoredRule stored = rule_from_row(row);
    ActiveRule rule;
    rule.id = stored.id;
    rule.definition = std::move(stored.definition);
    rule.reward_id = stored.reward_id;
    rule.campaign_id = stored.campaign_id;
    if (!row[23].is_null()) rule.budget_id = row[23].as<std::string>();
    rule.definition.reward = rule.reward_id;
    rule.definition.budget = rule.budget_id;
    rule.definition.campaign = rule.campaign_id;
    out.rules.push_back(std::move(rule));
  }
  auto next = tx.exec1(kNextChange, tenant_id);
  if (!next[0].is_null()) out.next_change = next[0].as<std::string>();
  return out;
}

ActiveRuleSet load_active_rules(db::Database& database, const std::string& tenant_id) {
  return db::with_tenant(database, tenant_id,
                         [&](db::Tx& tx) { return load_active_rules(tx, tenant_id); });
}

}  // namespace loyalty::rulesets
