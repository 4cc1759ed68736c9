#include "events/request.hpp"

#include <loyalty/core/crypto.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/core/idempotency.hpp>
#include <loyalty/core/phone.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/rules/definition.hpp>

#include <regex>

namespace loyalty::events {

namespace {

const std::regex kType("^[a-z][a-z0-9_.]{0,63}$");

}  // namespace

EventRequest parse_event_request(const nlohmann::json& body, const std::string& header_key) {
  EventRequest req;
  std::vector<FieldError> errors;
  static const std::vector<std::string> kFields = {"customer", "type", "occurred_at", "data",
                                                   "idempotency_key"};
  for (const auto& [key, value] : body.items()) {
    if (std::find(kFields.begin(), kFields.end(), key) == kFields.end()) {
      errors.push_back({"/" + key, "unknown field"});
    }
  }

  // Customer: exactly one way to find them.
  if (!body.contains("customer") || !body["customer"].is_object()) {
    errors.push_back({"/customer", "an object with phone, external_ref or id is required"});
  } else {
    const auto& c = body["customer"];
    int given = 0;
    for (const auto& [key, value] : c.items()) {
      if (key != "phone" && key != "external_ref" && key != "id") {
        errors.push_back({"/customer/" + key, "unknown field"});
        continue;
      }
      if (!value.is_string() || value.get<std::string>().empty()) {
        errors.push_back({"/customer/" + key, "must be a non-empty string"});
        continue;
      }
      ++given;
      std::string v = value.get<std::string>();
      if (key == "phone") {
        req.customer.phone = try_normalize_phone(v);
        if (!req.customer.phone) errors.push_back({"/customer/phone", "not a valid phone number"});
      } else if (key == "id") {
        if (!is_uuid(v)) errors.push_back({"/customer/id", "must be a uuid"});
        req.customer.id = v;
      } else {
        if (v.size() > 200) errors.push_back({"/customer/external_ref", "at most 200 characters"});
        req.customer.external_ref = v;
      }
    }
    if (given == 0 && c.empty()) {
      errors.push_back({"/customer", "give the customer's phone, external_ref or id"});
    }
  }

  if (!body.contains("type") || !body["type"].is_string() ||
      !std::regex_match(body["type"].get<std::string>(), kType)) {
    errors.push_back({"/type", "must be an event type such as purchase or visit (a-z, 0-9, _ .)"});
  } else {
    req.type = body["type"];
  }

  if (body.contains("occurred_at")) {
    if (!body["occurred_at"].is_string() ||
        !rules::parse_timestamp(body["occurred_at"].get<std::string>())) {
      errors.push_back(
          {"/occurred_at", "must be an RFC 3339 date-time, e.g. 2026-11-24T10:15:00+02:00"});
    } else {
      req.occurred_at = body["occurred_at"];
    }
  }

  if (body.contains("data")) {
    if (!body["data"].is_object()) {
      errors.push_back({"/data", "must be an object"});
    } else {
      req.data = body["data"];
      if (req.data.contains("amount")) {
        const auto& a = req.data["amount"];
        if (!a.is_string()) {
          errors.push_back({"/data/amount", "must be a decimal string such as \"12.50\""});
        } else {
          try {
            req.amount = parse_amount(a.get<std::string>());
            if (*req.amount < 0) errors.push_back({"/data/amount", "must not be negative"});
          } catch (const Error& e) {
            errors.push_back({"/data/amount", e.type() == "amount-too-large"
                                                  ? "must be at most " + format_amount(kMaxAmount)
                                                  : "must be a decimal string with at most two "
                                                    "decimals"});
          }
        }
      }
      if (req.data.contains("currency")) {
        const auto& c = req.data["currency"];
        if (!c.is_string() || !is_supported_currency(c.get<std::string>())) {
          errors.push_back({"/data/currency", "must be USD or ZWG"});
        } else {
          req.currency = c.get<std::string>();
        }
      }
      if (req.amount && !req.currency) {
        errors.push_back({"/data/currency", "required with an amount"});
      }
      if (req.data.contains("original_event_id")) {
        const auto& o = req.data["original_event_id"];
        if (!o.is_string() || !is_uuid(o.get<std::string>())) {
          errors.push_back({"/data/original_event_id", "must be the id of an earlier event"});
        } else {
          req.original_event_id = o.get<std::string>();
        }
      }
    }
  }
  if (req.type == "refund" && !req.original_event_id) {
    errors.push_back({"/data/original_event_id", "a refund names the event it reverses"});
  }

  req.idempotency_key = idempotency_key(body, header_key, errors);
  if (req.idempotency_key.empty()) {
    errors.push_back({"/idempotency_key", "required (in the body or the Idempotency-Key header)"});
  }
  if (!errors.empty()) throw_invalid("the event is not valid", errors);

  nlohmann::json canonical = body;
  canonical.erase("idempotency_key");
  req.request_hash = crypto::sha256_hex(canonical.dump());
  return req;
}

nlohmann::json rule_data(const EventRequest& req, const nlohmann::json& customer) {
  nlohmann::json event = req.data;
  event["type"] = req.type;
  if (req.amount) event["amount"] = static_cast<double>(*req.amount) / 100.0;
  if (event.contains("items") && event["items"].is_array() && !event.contains("items_count")) {
    event["items_count"] = event["items"].size();
  }
  return {{"event", event}, {"customer", customer}};
}

}  // namespace loyalty::events
