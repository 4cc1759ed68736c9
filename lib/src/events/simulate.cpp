// `rules simulate`: the pipeline's stages 4 to 7 (events/stages.cpp) on an event that is not
// stored, with a writer that writes nothing, in a read-only transaction that never commits;
// over the tenant's active rules, or over a draft of the rule builder in their place.
#include "events/stages.hpp"

#include "db/tx.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/events/events.hpp>

namespace loyalty::events {

namespace {

using db::Query;

constexpr const char* kNilUuid = "00000000-0000-0000-0000-000000000000";

// The customer as the pipeline would find them (by the same key), else as the pipeline would
// enrol them: active, with no attributes, tags or segments, enrolled now.
std::string find_customer_sql(const char* where) {
  return std::string("SELECT ") + kCustomerColumns +
         ", true AS known FROM customers WHERE tenant_id = $1::uuid AND " + where +
         " UNION ALL SELECT " + kCustomerColumns +
         R"sql(, false FROM (
      SELECT '00000000-0000-0000-0000-000000000000'::uuid AS id, $1::uuid AS tenant_id,
             NULL::uuid AS tier_id, 'active'::text AS status,
             NULL::date AS birthday, now() AS enrolled_at, '{}'::jsonb AS attributes,
             '{}'::text[] AS tags, '{}'::text[] AS segments,
             false AS referral_open) AS customers
    ORDER BY known DESC LIMIT 1)sql";
}
const std::string kFindByIdSql = find_customer_sql("id = $2::uuid");
const Query kFindById{"evsim_customer_id", kFindByIdSql.c_str()};
const std::string kFindByPhoneSql = find_customer_sql("phone = $2");
const Query kFindByPhone{"evsim_customer_phone", kFindByPhoneSql.c_str()};
const std::string kFindByRefSql = find_customer_sql("external_ref = $2");
const Query kFindByRef{"evsim_customer_ref", kFindByRefSql.c_str()};

/// Takes no lock and creates nothing: each rule with room would issue.
class SimulationWriter : public IssuanceWriter {
 public:
  void lock_rule(db::Tx&, const std::string&) override {}
  void create(db::Tx&, const EventContext&, RuleOutcome&) override {}
};

/// Stage 3 without its lock or enrolment; whether the customer is known.
bool resolve_customer(db::Tx& tx, EventContext& ctx) {
  const auto& ref = ctx.request.customer;
  const Query& q = ref.id ? kFindById : ref.phone ? kFindByPhone : kFindByRef;
  std::string key = ref.id ? *ref.id : ref.phone ? *ref.phone : ref.external_ref.value_or("");
  std::optional<std::string> occurred;
  if (!ctx.request.occurred_at.empty()) occurred = ctx.request.occurred_at;
  // $3 and $4 are kCustomerColumns' time zone and instant.
  auto row = tx.exec1(q, ctx.tenant_id, key, ctx.tenant->timezone, occurred);
  bool known = row["known"].as<bool>();
  if (!known && (ref.id || !ctx.tenant->settings.value("auto_enrol", true))) {
    throw Error(ErrorCode::invalid, "unknown-customer",
                "no such customer, and this tenant does not enrol customers on the fly",
                {{ref.id ? "/customer/id" : "/customer", "unknown customer"}});
  }
  ctx.customer = read_customer_view(row);
  ctx.enrolled_now = !known;
  return known;
}

/// The simulation, over the tenant's active rules or, when given, over `draft` instead.
nlohmann::json simulate(db::Database& database, const std::string& tenant_id,
                        const nlohmann::json& body,
                        const std::vector<rulesets::ActiveRule>* draft) {
  nlohmann::json doc = body;
  if (!doc.contains("idempotency_key")) doc["idempotency_key"] = "simulation";
  EventContext ctx;
  ctx.tenant_id = tenant_id;
  ctx.request = parse_event_request(doc, "");
  RulesCache cache;
  ctx.tenant = cache.get(database, tenant_id);
  if (draft) {
    auto entry = std::make_shared<RulesCache::Entry>(*ctx.tenant);
    auto compiled = std::make_shared<rules::RuleSet>();
    for (const auto& rule : *draft) compiled->add(rule.definition.conditions);
    entry->rules = std::make_shared<const std::vector<rulesets::ActiveRule>>(*draft);
    entry->compiled = std::move(compiled);
    ctx.tenant = std::move(entry);
  }
  ctx.event_id = kNilUuid;
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    tx.exec_raw("SET TRANSACTION READ ONLY");
    bool known = resolve_customer(tx, ctx);
    SimulationWriter writer;
    auto outcome = decide_rewards(tx, ctx, writer);
    nlohmann::json rules = nlohmann::json::array(), would_issue = nlohmann::json::array();
    for (const auto& r : outcome.rules) {
      nlohmann::json item = {{"rule_id", r.rule->id},
                             {"rule", r.rule->definition.name},
                             {"priority", r.rule->definition.priority},
                             {"matches", r.matched}};
      if (r.matched) {
        item["would_issue"] = r.reason.empty();
        if (r.reason.empty()) {
          would_issue.push_back({{"rule_id", r.rule->id},
                                 {"rule", r.rule->definition.name},
                                 {"reward_id", r.rule->reward_id}});
        } else {
          item["reason"] = r.reason;
        }
      }
      rules.push_back(std::move(item));
    }
    return nlohmann::json{{"customer_known", known},
                          {"rules", rules},
                          {"would_issue", would_issue},
                          {"not_issued", not_issued_json(outcome)}};
  });
}

}  // namespace

nlohmann::json simulate_event(db::Database& database, const std::string& tenant_id,
                              const nlohmann::json& body) {
  return simulate(database, tenant_id, body, nullptr);
}

nlohmann::json simulate_event(db::Database& database, const std::string& tenant_id,
                              const nlohmann::json& body,
                              const std::vector<rulesets::ActiveRule>& rules) {
  return simulate(database, tenant_id, body, &rules);
}

}  // namespace loyalty::events
