#include "catalog/fields.hpp"

#include <loyalty/core/uuid.hpp>
#include <loyalty/webhooks/deliveries.hpp>

namespace loyalty::webhooks {

namespace {

using nlohmann::json;

const std::string kColumns =
    "d.id, d.subscription_id::text AS subscription_id, o.message_id, o.event_type, d.status, "
    "d.attempts, d.last_status_code, d.last_error, " LOYALTY_TS("greatest(d.next_attempt_at, "
                                                                "now())")
    " AS next_attempt_at, " LOYALTY_TS("d.last_attempt_at") " AS last_attempt_at, " LOYALTY_TS(
        "d.delivered_at") " AS delivered_at, " LOYALTY_TS("d.created_at") " AS created_at";

const std::string kListSql = "SELECT " + kColumns + R"sql(
  FROM webhook_deliveries d JOIN outbox o ON o.id = d.outbox_id
 WHERE d.tenant_id = $1
   AND (nullif($2, '') IS NULL OR d.subscription_id = nullif($2, '')::uuid)
   AND ($3 = '' OR d.status = $3)
   AND ($4 = '' OR d.created_at >= $4::timestamptz)
   AND ($5::bigint = 0 OR d.id < $5::bigint)
 ORDER BY d.id DESC LIMIT $6)sql";
const db::Query kList{"webhook_delivery_list", kListSql.c_str(), db::Plan::per_call};
const std::string kOneSql = "SELECT " + kColumns + R"sql(
  FROM webhook_deliveries d JOIN outbox o ON o.id = d.outbox_id
 WHERE d.tenant_id = $1 AND d.id = $2)sql";
const db::Query kOne{"webhook_delivery_one", kOneSql.c_str()};
const db::Query kAttempts{"webhook_delivery_attempts", R"sql(
SELECT a.id, a.attempt, a.status_code, a.error, coalesce(a.duration_ms, 0) AS duration_ms,
       a.response_body, to_char(a.attempted_at AT TIME ZONE 'UTC',
                                'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS attempted_at
  FROM webhook_attempts a
 WHERE a.tenant_id = $1 AND a.delivery_id = $2
 ORDER BY a.id)sql"};
const db::Query kSubscriptionActive{"webhook_delivery_subscription_active", R"sql(
SELECT s.active FROM webhook_deliveries d
  JOIN webhook_subscriptions s ON s.tenant_id = d.tenant_id AND s.id = d.subscription_id
 WHERE d.tenant_id = $1 AND d.id = $2)sql"};
// Due now, with a fresh schedule; a delivery held by a worker right now is left to it.
const db::Query kReplay{"webhook_delivery_replay", R"sql(
UPDATE webhook_deliveries
   SET status = 'pending', next_attempt_at = now(), leased_by = NULL, replayed_after = attempts
 WHERE tenant_id = $1 AND id = $2 AND (status <> 'pending' OR leased_by IS NULL
                                       OR next_attempt_at <= now()))sql"};
const db::Query kReplayMany{"webhook_delivery_replay_many", R"sql(
UPDATE webhook_deliveries d
   SET status = 'pending', next_attempt_at = now(), leased_by = NULL, replayed_after = attempts
  FROM webhook_subscriptions s
 WHERE d.tenant_id = $1 AND s.tenant_id = $1 AND s.id = d.subscription_id AND s.active
   AND d.subscription_id = $2::uuid AND d.created_at >= $3::timestamptz
   AND ($4 = '' OR d.status = $4)
   AND (d.status <> 'pending' OR d.leased_by IS NULL OR d.next_attempt_at <= now()))sql"};
// Wakes the dispatchers (LISTEN loyalty_webhooks) at commit: replayed deliveries are due now.
const db::Query kWake{"webhook_wake", "SELECT pg_notify('loyalty_webhooks', '')"};

const db::Query kPurgeAttempts{"webhook_purge_attempts", R"sql(
DELETE FROM webhook_attempts WHERE attempted_at < now() - make_interval(days => $1))sql"};
const db::Query kPurgeDeliveries{"webhook_purge_deliveries", R"sql(
DELETE FROM webhook_deliveries d
 WHERE d.status IN ('delivered', 'failed') AND d.created_at < now() - make_interval(days => $1)
   AND NOT EXISTS (SELECT FROM webhook_attempts a WHERE a.delivery_id = d.id))sql"};
const db::Query kPurgeOutbox{"webhook_purge_outbox", R"sql(
DELETE FROM outbox o
 WHERE o.created_at < now() - make_interval(days => $1) AND o.dispatched_at IS NOT NULL
   AND NOT EXISTS (SELECT FROM webhook_deliveries d WHERE d.outbox_id = o.id))sql"};

std::optional<int> optional_int(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<int>();
}

Delivery row_to_delivery(const pqxx::row& r) {
  Delivery d;
  d.id = r["id"].as<std::int64_t>();
  d.subscription_id = r["subscription_id"].as<std::string>();
  d.message_id = r["message_id"].as<std::string>();
  d.event_type = r["event_type"].as<std::string>();
  d.status = r["status"].as<std::string>();
  d.attempts = r["attempts"].as<int>();
  d.last_status_code = optional_int(r["last_status_code"]);
  d.last_error = catalog::optional_text(r["last_error"]);
  d.next_attempt_at = r["next_attempt_at"].as<std::string>();
  d.last_attempt_at = catalog::optional_text(r["last_attempt_at"]);
  d.delivered_at = catalog::optional_text(r["delivered_at"]);
  d.created_at = r["created_at"].as<std::string>();
  return d;
}

Attempt row_to_attempt(const pqxx::row& r) {
  Attempt a;
  a.id = r["id"].as<std::int64_t>();
  a.attempt = r["attempt"].as<int>();
  a.status_code = optional_int(r["status_code"]);
  a.error = catalog::optional_text(r["error"]);
  a.duration_ms = r["duration_ms"].as<int>();
  a.response_body = r["response_body"].as<std::string>();
  a.attempted_at = r["attempted_at"].as<std::string>();
  return a;
}

Delivery load(db::Tx& tx, const std::string& tenant_id, std::int64_t id) {
  auto rows = tx.exec(kOne, tenant_id, id);
  if (rows.empty()) throw_not_found("webhook delivery " + std::to_string(id));
  Delivery d = row_to_delivery(rows[0]);
  for (const auto& r : tx.exec(kAttempts, tenant_id, id))
    d.attempt_log.push_back(row_to_attempt(r));
  return d;
}

void check_filter(const DeliveryFilter& f) {
  std::vector<FieldError> errors;
  if (!f.subscription_id.empty() && !is_uuid(f.subscription_id)) {
    errors.push_back({"/subscription", "must be a subscription id"});
  }
  if (!f.status.empty() && f.status != "pending" && f.status != "delivered" &&
      f.status != "failed") {
    errors.push_back({"/status", "must be one of pending, delivered, failed"});
  }
  if (!errors.empty()) throw_invalid("the delivery filter is not valid", errors);
}

}  // namespace

nlohmann::json to_json(const Attempt& a) {
  return {{"attempt", a.attempt},
          {"status_code", a.status_code ? json(*a.status_code) : json(nullptr)},
          {"error", a.error ? json(*a.error) : json(nullptr)},
          {"duration_ms", a.duration_ms},
          {"response_body", a.response_body},
          {"attempted_at", a.attempted_at}};
}

nlohmann::json to_json(const Delivery& d) {
  auto opt = [](const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); };
  json out = {{"id", std::to_string(d.id)},
              {"subscription_id", d.subscription_id},
              {"webhook_id", d.message_id},
              {"event_type", d.event_type},
              {"status", d.status},
              {"attempts", d.attempts},
              {"last_status_code", d.last_status_code ? json(*d.last_status_code) : json(nullptr)},
              {"last_error", opt(d.last_error)},
              {"next_attempt_at", d.status == "pending" ? json(d.next_attempt_at) : json(nullptr)},
              {"last_attempt_at", opt(d.last_attempt_at)},
              {"delivered_at", opt(d.delivered_at)},
              {"created_at", d.created_at}};
  if (!d.attempt_log.empty()) {
    json attempts = json::array();
    for (const auto& a : d.attempt_log) attempts.push_back(to_json(a));
    out["attempt_log"] = attempts;
  }
  return out;
}

Page<Delivery> list_deliveries(db::Database& database, const std::string& tenant_id,
                               const DeliveryFilter& filter, const PageRequest& page) {
  check_filter(filter);
  const long long before = decode_numeric_cursor(page.cursor);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    return fill_page<Delivery>(tx.exec(kList, tenant_id, filter.subscription_id, filter.status,
                                       filter.since, before, page.limit + 1),
                               page.limit, row_to_delivery, [](const Delivery& d) {
                                 return CursorPosition{std::to_string(d.id), ""};
                               });
  });
}

Delivery get_delivery(db::Database& database, const std::string& tenant_id, std::int64_t id) {
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) { return load(tx, tenant_id, id); });
}

Delivery replay_delivery(db::Database& database, const std::string& tenant_id, std::int64_t id) {
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto active = tx.exec(kSubscriptionActive, tenant_id, id);
    if (active.empty()) throw_not_found("webhook delivery " + std::to_string(id));
    if (!active[0][0].as<bool>()) {
      throw_conflict("webhook-disabled",
                     "the delivery's subscription is disabled: enable it first");
    }
    if (tx.exec(kReplay, tenant_id, id).affected_rows() > 0) tx.exec(kWake);
    return load(tx, tenant_id, id);
  });
}

std::int64_t replay_deliveries(db::Database& database, const std::string& tenant_id,
                               const DeliveryFilter& filter) {
  check_filter(filter);
  if (filter.subscription_id.empty() || filter.since.empty()) {
    throw_invalid("a replay needs a subscription and a since time",
                  {{"/since", "required with /subscription"}});
  }
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    const auto n = static_cast<std::int64_t>(
        tx.exec(kReplayMany, tenant_id, filter.subscription_id, filter.since, filter.status)
            .affected_rows());
    if (n > 0) tx.exec(kWake);
    return n;
  });
}

PurgeCounts purge(db::Database& owner, int days) {
  if (days < 1) throw_invalid("--older-than must be at least 1 day", {{"/days", "at least 1"}});
  return db::with_tx(owner, [&](db::Tx& tx) {
    PurgeCounts c;
    c.attempts = static_cast<std::int64_t>(tx.exec(kPurgeAttempts, days).affected_rows());
    c.deliveries = static_cast<std::int64_t>(tx.exec(kPurgeDeliveries, days).affected_rows());
    c.messages = static_cast<std::int64_t>(tx.exec(kPurgeOutbox, days).affected_rows());
    return c;
  });
}

}  // namespace loyalty::webhooks
