#pragma once
// Deliveries of outbox messages to subscriptions, and their attempts: what a merchant's
// developer and the operator look at when a receiver misses something, and how they send it
// again.

#include <loyalty/core/page.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace loyalty::db {
class Database;
}

namespace loyalty::webhooks {

struct Attempt {
  std::int64_t id = 0;
  int attempt = 1;
  std::optional<int> status_code;  ///< none when no answer came
  std::optional<std::string> error;
  int duration_ms = 0;
  std::string response_body;  ///< the first KiB
  std::string attempted_at;
};

struct Delivery {
  std::int64_t id = 0;
  std::string subscription_id;
  std::string message_id;  ///< the webhook-id, the same on every attempt and replay
  std::string event_type;
  std::string status;  ///< pending | delivered | failed
  int attempts = 0;
  std::optional<int> last_status_code;
  std::optional<std::string> last_error;
  std::string next_attempt_at;
  std::optional<std::string> last_attempt_at;
  std::optional<std::string> delivered_at;
  std::string created_at;
  std::vector<Attempt> attempt_log;  ///< filled by get_delivery
};

nlohmann::json to_json(const Delivery& delivery);
nlohmann::json to_json(const Attempt& attempt);

struct DeliveryFilter {
  std::string subscription_id;  ///< empty: every subscription
  std::string status;           ///< empty, pending, delivered or failed
  std::string since;            ///< RFC 3339; empty: no bound
};

/// The tenant's deliveries, newest first.
Page<Delivery> list_deliveries(db::Database& db, const std::string& tenant_id,
                               const DeliveryFilter& filter, const PageRequest& page);

/// One delivery with every attempt. Throws Error(not_found).
Delivery get_delivery(db::Database& db, const std::string& tenant_id, std::int64_t id);

/// Sends a delivery again (same webhook-id), now, with a fresh retry schedule: a failed or
/// delivered one goes back to pending. Throws Error(not_found); Error(conflict) while its
/// subscription is disabled.
Delivery replay_delivery(db::Database& db, const std::string& tenant_id, std::int64_t id);

/// Replays every delivery of a subscription created at or after `filter.since` (of
/// `filter.status` when given); returns how many. Error(invalid) without a subscription and
/// a since.
std::int64_t replay_deliveries(db::Database& db, const std::string& tenant_id,
                               const DeliveryFilter& filter);

/// How much a purge removed.
struct PurgeCounts {
  std::int64_t attempts = 0;
  std::int64_t deliveries = 0;
  std::int64_t messages = 0;
};

/// Removes, for every tenant, the attempts older than `days` days, the settled deliveries
/// (delivered or failed) older than that, and the outbox messages older than that with no
/// delivery left. Pending deliveries and their messages stay. For loyaltyctl (owner role).
PurgeCounts purge(db::Database& owner, int days);

}  // namespace loyalty::webhooks
