#include "db/tx.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/notices/history.hpp>

#include <algorithm>
#include <vector>

namespace loyalty::notices {

namespace {

#define NTC_TS(column) \
  "coalesce(to_char(" column " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '')"
const db::Query kList{
    "ntc_list",
    "SELECT id::text, coalesce(customer_id::text, ''), template, status, "
    "attempts, coalesce(sent_as, ''), error_code, coalesce(last_error, ''), " NTC_TS(
        "created_at") ", " NTC_TS("sent_at") ", " NTC_TS("updated_at") R"sql(
  FROM notifications
 WHERE tenant_id = $1::uuid AND ($2 = '' OR status = $2) AND ($3 = '' OR template = $3)
   AND ($4 = '' OR customer_id = nullif($4, '')::uuid)
   AND ($5 = '' OR (created_at, id) < ($5::timestamptz, $6::uuid))
 ORDER BY created_at DESC, id DESC LIMIT $7)sql",
    db::Plan::per_call};
#undef NTC_TS

const std::vector<std::string> kStatuses = {"queued", "sent",   "delivered",
                                            "read",   "failed", "cancelled"};
const std::vector<std::string> kKinds = {"reward_issued", "reward_redeemed", "reward_expiring",
                                         "points_expiring", "reply"};

Notification row_to_notification(const pqxx::row& r) {
  Notification n;
  n.id = r[0].as<std::string>();
  n.customer_id = r[1].as<std::string>();
  n.kind = r[2].as<std::string>();
  n.status = r[3].as<std::string>();
  n.attempts = r[4].as<int>();
  n.sent_as = r[5].as<std::string>();
  if (!r[6].is_null()) n.error_code = r[6].as<long long>();
  n.last_error = r[7].as<std::string>();
  n.created_at = r[8].as<std::string>();
  n.sent_at = r[9].as<std::string>();
  n.updated_at = r[10].as<std::string>();
  return n;
}

bool one_of(const std::vector<std::string>& allowed, const std::string& value) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

}  // namespace

nlohmann::json to_json(const Notification& n) {
  auto or_null = [](const std::string& s) {
    return s.empty() ? nlohmann::json() : nlohmann::json(s);
  };
  return {{"id", n.id},
          {"customer_id", or_null(n.customer_id)},
          {"kind", n.kind},
          {"status", n.status},
          {"attempts", n.attempts},
          {"sent_as", or_null(n.sent_as)},
          {"error_code", n.error_code ? nlohmann::json(*n.error_code) : nlohmann::json()},
          {"last_error", or_null(n.last_error)},
          {"created_at", n.created_at},
          {"sent_at", or_null(n.sent_at)},
          {"updated_at", n.updated_at}};
}

Page<Notification> list_notifications(db::Database& database, const std::string& tenant_id,
                                      const NotificationFilter& filter, const PageRequest& page) {
  std::vector<FieldError> errors;
  if (!filter.status.empty() && !one_of(kStatuses, filter.status)) {
    errors.push_back({"/status", "must be queued, sent, delivered, read, failed or cancelled"});
  }
  if (!filter.kind.empty() && !one_of(kKinds, filter.kind)) {
    errors.push_back({"/kind",
                      "must be reward_issued, reward_redeemed, reward_expiring, "
                      "points_expiring or reply"});
  }
  if (!filter.customer_id.empty() && !is_uuid(filter.customer_id)) {
    errors.push_back({"/customer_id", "must be a uuid"});
  }
  if (!errors.empty()) throw_invalid("the filters are not valid", errors);
  const auto after = decode_keyed_cursor(page.cursor);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto rows = tx.exec(kList, tenant_id, filter.status, filter.kind, filter.customer_id, after.key,
                        after.id.empty() ? std::optional<std::string>() : after.id, page.limit + 1);
    return fill_page<Notification>(rows, page.limit, row_to_notification,
                                   [](const Notification& n) {
                                     return CursorPosition{n.created_at, n.id};
                                   });
  });
}

}  // namespace loyalty::notices
