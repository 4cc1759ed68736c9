#pragma once
// Private: the customer as the rules see it, read the same way by the pipeline and by
// `rules simulate`.

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <optional>
#include <string>

namespace loyalty::events {

/// The select list of a customer row for the rules; $3 is the tenant's time zone and $4 the
/// event's instant (null: now). The rows it reads need tenant_id and tier_id.
extern const char* const kCustomerColumns;

/// A customer row read with kCustomerColumns.
struct CustomerView {
  std::string id, status;
  std::string local_time;      ///< the event's local "YYYY-MM-DD HH:MM:SS"
  std::string occurred_utc;    ///< the event's instant, RFC 3339 with microseconds
  bool referral_open = false;  ///< a referral of theirs waits for a qualifying event
  nlohmann::json view;         ///< what rules see as `customer` (`tier`: its name or null)
  /// The tier's earning multiplier (basis points), none without a tier.
  std::optional<int> tier_multiplier_bp;
};

CustomerView read_customer_view(const pqxx::row& row);

}  // namespace loyalty::events
