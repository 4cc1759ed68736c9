// The rule-definition format: parsing, defaults, every error with its pointer, and writing a
// rule back in the same format.
#include <catch2/catch.hpp>

#include <loyalty/core/error.hpp>
#include <loyalty/rules/definition.hpp>

#include <algorithm>

using nlohmann::json;
namespace rules = loyalty::rules;
using namespace std::chrono;

namespace {

const char* kFullRule = R"({
  "name": "Gold weekend bonus",
  "description": "Double points for gold members at weekends",
  "event_type": "purchase",
  "conditions": {"and": [{">=": [{"var": "event.amount"}, 50]}, {"weekday_in": ["sat", "sun"]}]},
  "reward": "double-points",
  "budget": "weekend-budget",
  "campaign": "winter-2024",
  "caps": {"per_customer": {"max": 1, "period": "week"},
           "global": {"max": 500, "period": "month"},
           "cooldown": 3600},
  "priority": 10,
  "active": false,
  "valid_from": "2024-12-01T00:00:00+02:00",
  "valid_until": "2025-01-01T00:00:00Z",
  "stop_processing": true
})";

std::vector<std::string> pointers(const std::vector<loyalty::FieldError>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.pointer);
  return out;
}

}  // namespace

TEST_CASE("rules: a complete rule definition parses into every field", "[unit]") {
  auto parsed = rules::parse_definitions(json::parse(kFullRule));
  REQUIRE(parsed.size() == 1);
  const auto& rule = parsed[0];
  CHECK(rule.name == "Gold weekend bonus");
  CHECK(rule.description == "Double points for gold members at weekends");
  CHECK(rule.event_type == "purchase");
  CHECK(rule.conditions == json::parse(kFullRule)["conditions"]);
  CHECK(rule.reward == "double-points");
  CHECK(rule.budget == "weekend-budget");
  CHECK(rule.campaign == "winter-2024");
  CHECK(rule.caps.per_customer == rules::Cap{1, rules::CapPeriod::week});
  CHECK(rule.caps.global == rules::Cap{500, rules::CapPeriod::month});
  CHECK(rule.caps.cooldown == 3600);
  CHECK(rule.priority == 10);
  CHECK_FALSE(rule.active);
  CHECK(rule.valid_from == rules::Timestamp{sys_days{2024y / November / 30} + hours{22}});
  CHECK(rule.valid_until == rules::Timestamp{sys_days{2025y / January / 1}});
  CHECK(rule.stop_processing);
}

TEST_CASE("rules: optional fields of a rule definition take their defaults", "[unit]") {
  auto rule = rules::parse_definitions(json::parse(
      R"({"name": "r", "event_type": "visit", "conditions": true, "reward": "coffee"})"))[0];
  CHECK(rule.description.empty());
  CHECK_FALSE(rule.budget);
  CHECK_FALSE(rule.campaign);
  CHECK(rule.caps == rules::Caps{});
  CHECK(rule.priority == 0);
  CHECK(rule.active);
  CHECK_FALSE(rule.valid_from);
  CHECK_FALSE(rule.valid_until);
  CHECK_FALSE(rule.stop_processing);
  auto capped = rules::parse_definitions(json::parse(
      R"({"name": "r", "event_type": "visit", "conditions": true, "reward": "coffee",
          "caps": {"per_customer": {"max": 3}}})"))[0];
  CHECK(capped.caps.per_customer == rules::Cap{3, rules::CapPeriod::lifetime});
}

TEST_CASE("rules: a rule definition written with to_json parses back to the same rule", "[unit]") {
  auto rule = rules::parse_definitions(json::parse(kFullRule))[0];
  json written = rules::to_json(rule);
  CHECK(written["valid_from"] == "2024-11-30T22:00:00Z");
  CHECK(written["caps"]["per_customer"] == json::parse(R"({"max": 1, "period": "week"})"));
  auto again = rules::parse_definitions(written);
  REQUIRE(again.size() == 1);
  CHECK(again[0] == rule);
  auto minimal = rules::parse_definitions(json::parse(
      R"({"name": "r", "event_type": "visit", "conditions": true, "reward": "coffee"})"))[0];
  CHECK(rules::parse_definitions(rules::to_json(minimal))[0] == minimal);
}

TEST_CASE("rules: files of rules are arrays or {\"rules\": [...]}, with pointers to match",
          "[unit]") {
  json rule = json::parse(R"({"name": "a", "event_type": "visit", "conditions": true,
                               "reward": "coffee"})");
  json second = rule;
  second["name"] = "b";
  second["priority"] = "high";
  auto as_array = rules::check_definitions(json::array({rule, second}));
  CHECK(as_array.count == 2);
  CHECK(as_array.rules.size() == 1);
  CHECK(pointers(as_array.errors) == std::vector<std::string>{"/1/priority"});
  auto wrapped = rules::check_definitions(json{{"rules", json::array({rule, second})}});
  CHECK(pointers(wrapped.errors) == std::vector<std::string>{"/rules/1/priority"});
  auto bad_wrapper = rules::check_definitions(json{{"rules", rule}, {"version", 2}});
  CHECK(pointers(bad_wrapper.errors) == std::vector<std::string>{"/version", "/rules"});
  CHECK_FALSE(rules::check_definitions(json("rule")).errors.empty());
}

TEST_CASE("rules: a priority past the 64-bit integer range is refused, not wrapped", "[unit]") {
  // Found by tests/fuzz/rules_fuzz: 2^64 - 1 read as priority -1, 2^64 - 10^6 as -1000000.
  const std::string rule = R"({"name": "a", "event_type": "visit", "conditions": true,
                               "reward": "coffee", "priority": )";
  for (const char* number :
       {"18446744073709551615", "18446744073708551616", "9223372036854775808"}) {
    CAPTURE(number);
    auto check = rules::check_definitions(json::parse(rule + number + "}"));
    CHECK(check.rules.empty());
    CHECK(pointers(check.errors) == std::vector<std::string>{"/priority"});
  }
  auto lowest = rules::check_definitions(json::parse(rule + "-1000000}"));
  REQUIRE(lowest.rules.size() == 1);
  CHECK(lowest.rules[0].priority == -1000000);
}

TEST_CASE("rules: validation reports every problem of every rule at once", "[unit]") {
  json document = json::parse(R"({"rules": [
    {"name": "ok", "event_type": "purchase", "conditions": true, "reward": "r"},
    {"name": "", "event_type": "has space", "conditions": true, "reward": "r", "colour": "red"},
    {"event_type": "purchase", "conditions": {"and": [true, {">=": [{"var": "x"}]}]}},
    {"name": "ok", "event_type": "purchase", "conditions": true, "reward": "r",
     "caps": {"per_customer": {"max": 0, "period": "fortnight", "extra": 1},
              "global": 5, "cooldown": -1, "burst": 2},
     "priority": 2.5, "active": "yes", "stop_processing": 1,
     "valid_from": "2025-01-01", "valid_until": "2025-13-01T00:00:00Z"},
    {"name": "late", "event_type": "purchase", "conditions": true, "reward": "r",
     "valid_from": "2025-02-01T00:00:00Z", "valid_until": "2025-01-01T00:00:00Z"},
    "not a rule"
  ]})");
  auto check = rules::check_definitions(document);
  CHECK(check.count == 6);
  CHECK(check.rules.size() == 1);
  std::vector<std::string> expected = {
      "/rules/1/colour",
      "/rules/1/name",
      "/rules/1/event_type",
      "/rules/2/name",
      "/rules/2/conditions/and/1/>=",
      "/rules/2/reward",
      "/rules/3/caps/burst",
      "/rules/3/caps/cooldown",
      "/rules/3/caps/global",
      "/rules/3/caps/per_customer/extra",
      "/rules/3/caps/per_customer/max",
      "/rules/3/caps/per_customer/period",
      "/rules/3/priority",
      "/rules/3/active",
      "/rules/3/stop_processing",
      "/rules/3/valid_from",
      "/rules/3/valid_until",
      "/rules/3/name",
      "/rules/4/valid_until",
      "/rules/5",
  };
  CHECK(pointers(check.errors) == expected);
  auto message_at = [&](std::string_view pointer) {
    auto it = std::find_if(check.errors.begin(), check.errors.end(),
                           [&](const auto& e) { return e.pointer == pointer; });
    return it == check.errors.end() ? std::string() : it->message;
  };
  CHECK(message_at("/rules/1/colour") == "unknown field \"colour\"");
  CHECK(message_at("/rules/2/reward") == "required");
  CHECK(message_at("/rules/2/conditions/and/1/>=") == R"(">=" takes 2 arguments: {">=": [A, B]})");
  CHECK(message_at("/rules/3/caps/per_customer/period") ==
        "must be one of day, week, month, lifetime");
  CHECK(message_at("/rules/3/name") == "duplicate rule name (also at /rules/0)");
  CHECK(message_at("/rules/4/valid_until") == "must be later than valid_from");

  try {
    rules::parse_definitions(document);
    FAIL("parse_definitions accepted an invalid document");
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::invalid);
    CHECK(e.fields().size() == expected.size());
    CHECK(std::string(e.what()) == "invalid rule definitions: 20 problems");
  }
}

TEST_CASE("rules: timestamps are RFC 3339 date-times with an offset", "[unit]") {
  CHECK(rules::parse_timestamp("2024-06-15T18:30:00+02:00") ==
        rules::Timestamp{sys_days{2024y / June / 15} + hours{16} + minutes{30}});
  CHECK(
      rules::parse_timestamp("2024-06-15T18:30:00.25Z") ==
      rules::Timestamp{sys_days{2024y / June / 15} + hours{18} + minutes{30} + milliseconds{250}});
  CHECK(rules::parse_timestamp("2024-06-15T00:00:00-05:30") ==
        rules::Timestamp{sys_days{2024y / June / 15} + hours{5} + minutes{30}});
  CHECK_FALSE(rules::parse_timestamp("2024-06-15"));
  CHECK_FALSE(rules::parse_timestamp("2024-06-15T18:30:00"));
  CHECK_FALSE(rules::parse_timestamp("2024-02-30T00:00:00Z"));
  CHECK_FALSE(rules::parse_timestamp("2024-06-15T24:00:00Z"));
  CHECK_FALSE(rules::parse_timestamp("2024-06-15T18:30:00+0200"));
  CHECK_FALSE(rules::parse_timestamp("2024-06-15T18:30:00Z "));
  CHECK(rules::format_timestamp(*rules::parse_timestamp("2024-06-15T18:30:00.250+02:00")) ==
        "2024-06-15T16:30:00.25Z");
}
