#pragma once
// What became of a tenant's notices and replies, for the operator and the merchant's staff: kind,
// status, attempts, how it went (message or template) and why it failed, never its content (a
// queued notice holds the customer's PIN) nor the number it went to.

#include <loyalty/core/page.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace loyalty::db {
class Database;
}

namespace loyalty::notices {

struct Notification {
  std::string id;
  std::string customer_id;  ///< empty for a reply to someone who is not a member
  std::string kind;    ///< reward_issued, reward_redeemed, reward_expiring, points_expiring, reply
  std::string status;  ///< queued, sent, delivered, read, failed, cancelled
  int attempts = 0;
  std::string sent_as;                  ///< message | template, once sent
  std::optional<long long> error_code;  ///< Meta's, when it gave one
  std::string last_error;
  std::string created_at;
  std::string sent_at;  ///< empty until sent
  std::string updated_at;
};

nlohmann::json to_json(const Notification& n);

struct NotificationFilter {
  std::string status;       ///< empty: any
  std::string kind;         ///< empty: any
  std::string customer_id;  ///< empty: any
};

/// Newest first. Error(invalid) naming the filter that is not one of the allowed values.
Page<Notification> list_notifications(db::Database& db, const std::string& tenant_id,
                                      const NotificationFilter& filter, const PageRequest& page);

}  // namespace loyalty::notices
