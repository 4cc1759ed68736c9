#pragma once
// Private: an event body parsed and validated.

#include <loyalty/core/money.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace loyalty::events {

struct CustomerRef {
  std::optional<std::string> id;
  std::optional<std::string> phone;  ///< normalised E.164
  std::optional<std::string> external_ref;
};

struct EventRequest {
  CustomerRef customer;
  std::string type;
  std::string occurred_at;  ///< RFC 3339 as given, empty for now
  nlohmann::json data = nlohmann::json::object();
  std::optional<MinorUnits> amount;
  std::optional<std::string> currency;
  std::string idempotency_key;
  std::string request_hash;  ///< SHA-256 of the body without its idempotency key
  // refunds
  std::optional<std::string> original_event_id;
};

/// Parses and validates a body; Error(invalid) with every field's pointer.
EventRequest parse_event_request(const nlohmann::json& body, const std::string& header_key);

/// The data rules see: {"event": {...}, "customer": {...}}.
nlohmann::json rule_data(const EventRequest& req, const nlohmann::json& customer);

}  // namespace loyalty::events
