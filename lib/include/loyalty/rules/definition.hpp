#pragma once
// The rule-definition format: one rule as a JSON object, and files of rules for import, e.g.
//
//   {"name": "Gold weekend bonus", "event_type": "purchase",
//    "conditions": {">=": [{"var": "event.amount"}, 50]},
//    "reward": "double-points", "caps": {"per_customer": {"max": 1, "period": "week"}},
//    "priority": 10}
//
// Validation reports every problem at once, each with its JSON pointer
// (`/rules/3/conditions/and/1/>=`, `/0/caps/per_customer/max`). Reward, budget and campaign
// references are names or ids, checked later against a tenant.

#include <loyalty/core/error.hpp>
#include <loyalty/rules/limits.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty::rules {

/// The calendar period a cap counts over (in the tenant's time zone): `day`, `week` (Monday to
/// Sunday), `month`, or `lifetime` (never resets).
enum class CapPeriod : std::uint8_t { day, week, month, lifetime };

std::string_view to_string(CapPeriod period) noexcept;
/// Parses "day", "week", "month" or "lifetime".
std::optional<CapPeriod> parse_cap_period(std::string_view text) noexcept;

/// At most `max` rewards from a rule per `period`.
struct Cap {
  std::int64_t max = 1;
  CapPeriod period = CapPeriod::lifetime;
  bool operator==(const Cap&) const = default;
};

struct Caps {
  std::optional<Cap> per_customer;       ///< per customer
  std::optional<Cap> global;             ///< over all customers of the tenant
  std::optional<std::int64_t> cooldown;  ///< seconds between two rewards to one customer
  bool operator==(const Caps&) const = default;
};

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

/// One rule, parsed and validated.
struct RuleDefinition {
  std::string name;
  std::string description;
  std::string event_type;
  nlohmann::json conditions;            ///< JsonLogic, validated; compile it with RuleSet::add
  std::string reward;                   ///< reward id or name
  std::optional<std::string> budget;    ///< budget id or name; else the reward's or campaign's
  std::optional<std::string> campaign;  ///< campaign id or name
  Caps caps;
  std::int32_t priority = 0;  ///< higher first; ties in name order
  bool active = true;
  std::optional<Timestamp> valid_from;   ///< inclusive
  std::optional<Timestamp> valid_until;  ///< exclusive
  bool stop_processing = false;          ///< when it matches, later rules are not evaluated
  bool operator==(const RuleDefinition&) const = default;
};

/// The result of checking a document of rule definitions.
struct DefinitionCheck {
  std::vector<RuleDefinition> rules;  ///< the rules that are valid, in document order
  std::vector<FieldError> errors;     ///< every problem, in document order
  std::size_t count = 0;              ///< rules in the document, valid or not
};

/// Checks a document: one rule object, an array of rules, or `{"rules": [...]}`. Pointers are
/// relative to the document (`/name`, `/0/name`, `/rules/0/name`). Never throws for bad input.
DefinitionCheck check_definitions(const nlohmann::json& document,
                                  const Limits& rule_limits = Limits::for_rules());

/// The rules of a valid document. Throws loyalty::Error (invalid) listing every problem.
std::vector<RuleDefinition> parse_definitions(const nlohmann::json& document,
                                              const Limits& rule_limits = Limits::for_rules());

/// Writes a rule in the definition format (timestamps in UTC, defaults written out), such that
/// parse_definitions(to_json(rule)) gives the rule back.
nlohmann::json to_json(const RuleDefinition& rule);

/// Parses an RFC 3339 timestamp (ISO 8601 date-time with a UTC offset), e.g.
/// `2024-12-01T00:00:00+02:00` or `2024-12-01T08:30:00.250Z`; nullopt if malformed.
std::optional<Timestamp> parse_timestamp(std::string_view text) noexcept;
/// Formats a timestamp as `2024-11-30T22:00:00Z` (fractions only when not zero).
std::string format_timestamp(Timestamp time);

}  // namespace loyalty::rules
