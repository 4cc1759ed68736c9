// Reading events back.
#include "db/tx.hpp"
#include "issuances/internal.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/rules/definition.hpp>

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

}  // namespace loyalty::events
