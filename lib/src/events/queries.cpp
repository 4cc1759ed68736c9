// Reading events back, and simulating one without writing.
#include "db/tx.hpp"
#include "events/cache.hpp"
#include "events/caps.hpp"
#include "events/customer_view.hpp"
#include "events/history.hpp"
#include "events/request.hpp"
#include "issuances/internal.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/events/events.hpp>

namespace loyalty::events {

namespace {

using db::Query;

constexpr const char* kColumns =
    "id::text, type, coalesce(customer_id::text, ''), to_char(occurred_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), data::text, idempotency_key, status, "
    "coalesce(response::text, 'null'), to_char(created_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), coalesce(original_event_id::text, '')";

const std::string kGetSql =
    std::string("SELECT ") + kColumns + " FROM events WHERE tenant_id = $1::uuid AND id = $2::uuid";
const Query kGet{"evq_get", kGetSql.c_str()};
const std::string kListSql =
    std::string("SELECT ") + kColumns +
    " FROM events WHERE tenant_id = $1::uuid AND ($2 = '' OR customer_id = nullif($2, '')::uuid) "
    "AND ($3 = '' OR type = $3) AND ($4 = '' OR occurred_at >= $4::timestamptz) AND ($5 = '' OR "
    "occurred_at < $5::timestamptz) AND ($6 = '' OR (created_at, id) < ($6::timestamptz, "
    "$7::uuid)) ORDER BY created_at DESC, id DESC LIMIT $8";
const Query kList{"evq_list", kListSql.c_str(), db::Plan::per_call};

nlohmann::json row_to_json(const pqxx::row& r) {
  nlohmann::json response = nlohmann::json::parse(r[7].as<std::string>());
  nlohmann::json j = {{"id", r[0].as<std::string>()},
                      {"type", r[1].as<std::string>()},
                      {"customer_id", r[2].as<std::string>()},
                      {"occurred_at", r[3].as<std::string>()},
                      {"data", nlohmann::json::parse(r[4].as<std::string>())},
                      {"idempotency_key", r[5].as<std::string>()},
                      {"status", r[6].as<std::string>()},
                      {"created_at", r[8].as<std::string>()}};
  if (!r[9].as<std::string>().empty()) j["original_event_id"] = r[9].as<std::string>();
  j["issuances"] = nlohmann::json::array();
  if (response.is_object()) {
    j["not_issued"] = response.value("not_issued", nlohmann::json::array());
    if (response.contains("refund")) j["refund"] = response["refund"];
  }
  return j;
}

/// Fills in each event's issuances as they are now (the stored answer has them as they were).
void attach_issuances(db::Tx& tx, const std::string& tenant_id, std::vector<nlohmann::json>& events,
                      issuances::CodeView codes) {
  std::vector<std::string> ids;
  for (const auto& e : events) ids.push_back(e["id"]);
  auto found = issuances::load_for_events(tx, tenant_id, ids);
  for (auto& e : events) {
    for (const auto& i : found[e["id"].get<std::string>()]) {
      e["issuances"].push_back(issuances::to_json(i, codes));
    }
  }
}

// The customer by phone, external ref or ($5, when the reference is a uuid) id: each through its
// own key. (id::text = $2 could use no index and read all the tenant's customers.)
const std::string kSimCustomerSql =
    std::string("SELECT ") + kCustomerColumns +
    " FROM customers WHERE tenant_id = $1::uuid AND (id = $5::uuid OR phone = $2 OR "
    "external_ref = $2)";
const Query kSimCustomer{"evq_sim_customer", kSimCustomerSql.c_str()};
// The caps as the event path counts them (ev_customer_caps, ev_global_count): the customer's own
// issuances of the rule through issuances_caps, and the rule's count only for a global cap.
const Query kSimCustomerCaps{
    "evq_sim_customer_caps",
    "SELECT count(*) FILTER (WHERE created_at >= coalesce(budget_period_start($4, $5, "
    "app_now()), '-infinity')), coalesce(max(created_at) > app_now() - $6 * interval '1 second', "
    "false) FROM issuances WHERE tenant_id = $1::uuid AND rule_id = $2::uuid AND customer_id = "
    "$3::uuid AND state <> 'cancelled'"};
const Query kSimGlobalCount{
    "evq_sim_global_count",
    "SELECT count(*) FROM issuances WHERE tenant_id = $1::uuid AND rule_id = $2::uuid AND state "
    "<> 'cancelled' AND created_at >= coalesce(budget_period_start($3, $4, app_now()), "
    "'-infinity')"};
const Query kSimBudget{"evq_sim_budget",
                       "SELECT b.hard_cap AND b.total_minor - b.reserved_minor - b.utilized_minor "
                       "- b.spent_minor < r.cost_minor FROM budgets b, rewards r WHERE "
                       "b.tenant_id = $1::uuid AND b.id = $2::uuid AND r.tenant_id = $1::uuid "
                       "AND r.id = $3::uuid"};
const Query kSimPool{"evq_sim_pool",
                     "SELECT r.type = 'voucher' AND coalesce(r.config->>'source', 'pool') = "
                     "'pool' AND NOT EXISTS (SELECT 1 FROM reward_codes c WHERE c.tenant_id = "
                     "r.tenant_id AND c.reward_id = r.id AND c.status = 'available'), "
                     "r.type = 'physical' AND r.stock = 0 FROM rewards r WHERE r.tenant_id = "
                     "$1::uuid AND r.id = $2::uuid"};

}  // namespace

nlohmann::json get_event(db::Database& database, const std::string& tenant_id,
                         const std::string& id, issuances::CodeView codes) {
  if (!is_uuid(id)) throw_not_found("event");
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto rows = tx.exec(kGet, tenant_id, id);
    if (rows.empty()) throw_not_found("event");
    std::vector<nlohmann::json> one{row_to_json(rows[0])};
    attach_issuances(tx, tenant_id, one, codes);
    return one[0];
  });
}

Page<nlohmann::json> list_events(db::Database& database, const std::string& tenant_id,
                                 const EventFilter& filter, const PageRequest& page,
                                 issuances::CodeView codes) {
  std::vector<FieldError> errors;
  if (!filter.customer_id.empty() && !is_uuid(filter.customer_id)) {
    errors.push_back({"/customer_id", "must be a uuid"});
  }
  for (auto [name, value] : {std::pair{"/from", &filter.from}, std::pair{"/to", &filter.to}}) {
    if (!value->empty() && !rules::parse_timestamp(*value)) {
      errors.push_back({name, "must be an RFC 3339 date-time"});
    }
  }
  if (!errors.empty()) throw_invalid("the filters are not valid", errors);
  auto after = decode_keyed_cursor(page.cursor);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto rows = tx.exec(kList, tenant_id, filter.customer_id, filter.type, filter.from, filter.to,
                        after.key, after.id.empty() ? std::optional<std::string>() : after.id,
                        page.limit + 1);
    auto out = fill_page<nlohmann::json>(rows, page.limit, row_to_json, [](const auto& e) {
      return CursorPosition{e["created_at"], e["id"]};
    });
    attach_issuances(tx, tenant_id, out.items, codes);
    return out;
  });
}

nlohmann::json simulate_event(db::Database& database, const std::string& tenant_id,
                              const nlohmann::json& body) {
  nlohmann::json doc = body;
  if (!doc.contains("idempotency_key")) doc["idempotency_key"] = "simulation";
  EventRequest req = parse_event_request(doc, "");
  RulesCache cache;
  auto entry = cache.get(database, tenant_id);
  std::optional<std::string> occurred;
  if (!req.occurred_at.empty()) occurred = req.occurred_at;
  std::string ref = req.customer.id      ? *req.customer.id
                    : req.customer.phone ? *req.customer.phone
                                         : req.customer.external_ref.value_or("");
  // Read-only: everything runs in a transaction that is never committed.
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    tx.exec_raw("SET TRANSACTION READ ONLY");
    nlohmann::json customer_view = {{"status", "active"},
                                    {"tags", nlohmann::json::array()},
                                    {"segments", nlohmann::json::array()}};
    std::string customer_id = "00000000-0000-0000-0000-000000000000";
    std::string local, utc;
    auto rows = tx.exec(kSimCustomer, tenant_id, ref, entry->timezone, occurred,
                        is_uuid(ref) ? std::optional<std::string>(ref) : std::nullopt);
    bool known = !rows.empty();
    if (known) {
      auto found = read_customer_view(rows[0]);
      customer_id = found.id;
      customer_view = std::move(found.view);
      local = found.local_time;
      utc = found.occurred_utc;
    } else if (!entry->settings.value("auto_enrol", true)) {
      throw Error(ErrorCode::invalid, "unknown-customer", "no such customer",
                  {{"/customer", "unknown customer"}});
    }
    if (utc.empty()) {
      auto t = tx.exec_raw(
          "SELECT to_char(now() AT TIME ZONE 'UTC', "
          "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
      utc = t[0][0].as<std::string>();
    }
    const auto& rules_list = *entry->rules;
    const auto& compiled = *entry->compiled;
    auto data = compiled.prepare(rule_data(req, customer_view));
    DbHistory history(tx, tenant_id, customer_id, "00000000-0000-0000-0000-000000000000", utc,
                      entry->timezone, customer_view, local);
    rules::Evaluator evaluator;
    nlohmann::json results = nlohmann::json::array();
    for (std::size_t i = 0; i < rules_list.size(); ++i) {
      const auto& rule = rules_list[i];
      if (rule.definition.event_type != req.type) continue;
      bool matches = evaluator.matches(compiled[i], data, &history);
      nlohmann::json item = {{"rule_id", rule.id},
                             {"rule", rule.definition.name},
                             {"priority", rule.definition.priority},
                             {"matches", matches}};
      if (matches) {
        std::string why;
        const auto& caps = rule.definition.caps;
        std::int64_t mine = 0, all = 0;
        bool cooling = false;
        if (caps.per_customer || caps.cooldown) {
          auto c = tx.exec1(kSimCustomerCaps, tenant_id, rule.id, customer_id,
                            cap_period_sql_name(caps.per_customer), entry->timezone,
                            caps.cooldown.value_or(0));
          mine = c[0].as<std::int64_t>();
          cooling = c[1].as<bool>();
        }
        if (caps.global) {
          all = tx.exec1(kSimGlobalCount, tenant_id, rule.id, cap_period_sql_name(caps.global),
                         entry->timezone)[0]
                    .as<std::int64_t>();
        }
        if (caps.per_customer && mine >= caps.per_customer->max)
          why = "per_customer_cap";
        else if (caps.global && all >= caps.global->max)
          why = "global_cap";
        else if (caps.cooldown && *caps.cooldown > 0 && cooling)
          why = "cooldown";
        if (why.empty() && rule.budget_id &&
            tx.exec1(kSimBudget, tenant_id, *rule.budget_id, rule.reward_id)[0].as<bool>()) {
          why = "budget_exhausted";
        }
        if (why.empty()) {
          auto p = tx.exec1(kSimPool, tenant_id, rule.reward_id);
          if (p[0].as<bool>())
            why = "pool_empty";
          else if (p[1].as<bool>())
            why = "out_of_stock";
        }
        if (customer_view.value("status", "active") != "active") why = "customer_not_active";
        item["would_issue"] = why.empty();
        if (!why.empty()) item["reason"] = why;
      }
      results.push_back(item);
      if (matches && rule.definition.stop_processing) break;
    }
    return nlohmann::json{{"customer_known", known}, {"rules", results}};
  });
}

}  // namespace loyalty::events
