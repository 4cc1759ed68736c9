// The rule-definition format: validation that reports every problem with its JSON pointer, and
// the parsed RuleDefinition the rest of the system uses.
#include <loyalty/rules/definition.hpp>
#include <loyalty/rules/engine.hpp>

#include "internal.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>

namespace loyalty::rules {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxRules = 10'000;
constexpr std::size_t kMaxNameBytes = 200;
constexpr std::size_t kMaxDescriptionBytes = 2000;
constexpr std::size_t kMaxReferenceBytes = 200;
constexpr std::size_t kMaxEventTypeBytes = 64;
constexpr std::int64_t kMaxCap = 1'000'000'000;
constexpr std::int64_t kMaxCooldown = 366LL * 24 * 3600;
constexpr std::int64_t kMaxPriority = 1'000'000;

constexpr std::array<std::string_view, 13> kRuleFields = {
    "name", "description", "event_type", "conditions", "reward",      "budget",         "campaign",
    "caps", "priority",    "active",     "valid_from", "valid_until", "stop_processing"};

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::optional<std::int64_t> integral(const json& j) {
  // is_number_integer() is true for unsigned numbers too: ask about unsigned first, or
  // 18446744073709551615 would wrap to -1.
  if (j.is_number_unsigned()) {
    auto u = j.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return static_cast<std::int64_t>(u);
    }
    return std::nullopt;
  }
  if (j.is_number_integer()) return j.get<std::int64_t>();
  if (j.is_number_float()) {
    double d = j.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
      return static_cast<std::int64_t>(d);
    }
  }
  return std::nullopt;
}

bool has_control_characters(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool is_event_type(std::string_view s) {
  return !s.empty() && s.size() <= kMaxEventTypeBytes &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == ':' || c == '-';
         });
}

class Checker {
 public:
  Checker(const Limits& limits, std::vector<FieldError>& errors)
      : limits_(limits), errors_(errors) {}

  std::optional<RuleDefinition> rule(const json& j, const std::string& base) {
    std::size_t before = errors_.size();
    if (!j.is_object()) {
      error(base, "a rule must be a JSON object");
      return std::nullopt;
    }
    for (const auto& [key, value] : j.items()) {
      if (std::find(kRuleFields.begin(), kRuleFields.end(), key) == kRuleFields.end()) {
        error(at(base, key), "unknown field " + in_quotes(key));
      }
    }
    RuleDefinition rule;
    rule.name = text(j, base, "name", true, kMaxNameBytes).value_or("");
    rule.description = text(j, base, "description", false, kMaxDescriptionBytes).value_or("");
    if (auto type = text(j, base, "event_type", true, kMaxEventTypeBytes)) {
      if (!is_event_type(*type)) {
        error(at(base, "event_type"),
              "must be letters, digits, '_', '.', ':' or '-' (e.g. \"purchase\")");
      }
      rule.event_type = *type;
    }
    if (auto it = j.find("conditions"); it == j.end()) {
      error(at(base, "conditions"), "required (JsonLogic; true matches every event)");
    } else {
      auto problems = check_logic(*it, at(base, "conditions"), limits_);
      // Copy only conditions within the limits: nlohmann copies recursively.
      if (problems.empty()) rule.conditions = *it;
      errors_.insert(errors_.end(), problems.begin(), problems.end());
    }
    rule.reward = text(j, base, "reward", true, kMaxReferenceBytes).value_or("");
    rule.budget = text(j, base, "budget", false, kMaxReferenceBytes);
    rule.campaign = text(j, base, "campaign", false, kMaxReferenceBytes);
    if (auto it = j.find("caps"); it != j.end() && !it->is_null()) {
      rule.caps = caps(*it, at(base, "caps"));
    }
    if (auto it = j.find("priority"); it != j.end()) {
      auto n = integral(*it);
      if (!n || *n < -kMaxPriority || *n > kMaxPriority) {
        error(at(base, "priority"), "must be a whole number from -1000000 to 1000000");
      } else {
        rule.priority = static_cast<std::int32_t>(*n);
      }
    }
    rule.active = flag(j, base, "active", true);
    rule.stop_processing = flag(j, base, "stop_processing", false);
    rule.valid_from = timestamp(j, base, "valid_from");
    rule.valid_until = timestamp(j, base, "valid_until");
    if (rule.valid_from && rule.valid_until && *rule.valid_until <= *rule.valid_from) {
      error(at(base, "valid_until"), "must be later than valid_from");
    }
    if (errors_.size() != before) return std::nullopt;
    return rule;
  }

  void error(std::string pointer, std::string message) {
    errors_.push_back({std::move(pointer), std::move(message)});
  }

  static std::string at(const std::string& base, std::string_view field) {
    std::string pointer = base;
    detail::append_pointer_token(pointer, field);
    return pointer;
  }

 private:
  std::optional<std::string> text(const json& j, const std::string& base, std::string_view field,
                                  bool required, std::size_t max_bytes) {
    auto it = j.find(field);
    if (it == j.end() || (!required && it->is_null())) {
      if (required) error(at(base, field), "required");
      return std::nullopt;
    }
    if (!it->is_string()) {
      error(at(base, field), "must be a string");
      return std::nullopt;
    }
    const auto& s = it->get_ref<const std::string&>();
    if (required || field != "description") {
      if (s.find_first_not_of(" \t") == std::string::npos) {
        error(at(base, field), "must not be empty");
        return std::nullopt;
      }
    }
    if (s.size() > max_bytes) {
      error(at(base, field), "must be at most " + std::to_string(max_bytes) + " bytes");
      return std::nullopt;
    }
    if (field != "description" && has_control_characters(s)) {
      error(at(base, field), "must not contain control characters");
      return std::nullopt;
    }
    return s;
  }

  bool flag(const json& j, const std::string& base, std::string_view field, bool fallback) {
    auto it = j.find(field);
    if (it == j.end()) return fallback;
    if (!it->is_boolean()) {
      error(at(base, field), "must be true or false");
      return fallback;
    }
    return it->get<bool>();
  }

  std::optional<Timestamp> timestamp(const json& j, const std::string& base,
                                     std::string_view field) {
    auto it = j.find(field);
    if (it == j.end() || it->is_null()) return std::nullopt;
    std::optional<Timestamp> time;
    if (it->is_string()) time = parse_timestamp(it->get_ref<const std::string&>());
    if (!time) {
      error(at(base, field),
            "must be an ISO 8601 date-time with a UTC offset, e.g. \"2025-01-31T23:59:59+02:00\"");
    }
    return time;
  }

  std::optional<Cap> cap(const json& j, const std::string& pointer) {
    if (!j.is_object()) {
      error(pointer, R"(must be an object {"max": N, "period": "day|week|month|lifetime"})");
      return std::nullopt;
    }
    Cap out;
    bool ok = true;
    for (const auto& [key, value] : j.items()) {
      if (key != "max" && key != "period") {
        error(at(pointer, key), "unknown field " + in_quotes(key));
        ok = false;
      }
    }
    if (auto it = j.find("max"); it == j.end()) {
      error(at(pointer, "max"), "required");
      ok = false;
    } else if (auto n = integral(*it); !n || *n < 1 || *n > kMaxCap) {
      error(at(pointer, "max"), "must be a whole number from 1 to 1000000000");
      ok = false;
    } else {
      out.max = *n;
    }
    if (auto it = j.find("period"); it != j.end()) {
      std::optional<CapPeriod> period;
      if (it->is_string()) period = parse_cap_period(it->get_ref<const std::string&>());
      if (!period) {
        error(at(pointer, "period"), "must be one of day, week, month, lifetime");
        ok = false;
      } else {
        out.period = *period;
      }
    }
    return ok ? std::optional<Cap>(out) : std::nullopt;
  }

  Caps caps(const json& j, const std::string& pointer) {
    Caps out;
    if (!j.is_object()) {
      error(pointer, "must be an object with per_customer, global and/or cooldown");
      return out;
    }
    for (const auto& [key, value] : j.items()) {
      if (key == "per_customer") {
        if (!value.is_null()) out.per_customer = cap(value, at(pointer, key));
      } else if (key == "global") {
        if (!value.is_null()) out.global = cap(value, at(pointer, key));
      } else if (key == "cooldown") {
        if (value.is_null()) continue;
        auto n = integral(value);
        if (!n || *n < 0 || *n > kMaxCooldown) {
          error(at(pointer, key), "must be a whole number of seconds from 0 to " +
                                      std::to_string(kMaxCooldown) + " (366 days)");
        } else {
          out.cooldown = *n;
        }
      } else {
        error(at(pointer, key), "unknown field " + in_quotes(key));
      }
    }
    return out;
  }

  const Limits& limits_;
  std::vector<FieldError>& errors_;
};

int two_digits(std::string_view s, std::size_t at) {
  if (at + 2 > s.size()) return -1;
  char a = s[at];
  char b = s[at + 1];
  if (a < '0' || a > '9' || b < '0' || b > '9') return -1;
  return (a - '0') * 10 + (b - '0');
}

}  // namespace

std::string_view to_string(CapPeriod period) noexcept {
  switch (period) {
    case CapPeriod::day:
      return "day";
    case CapPeriod::week:
      return "week";
    case CapPeriod::month:
      return "month";
    case CapPeriod::lifetime:
      return "lifetime";
  }
  return "lifetime";
}

std::optional<CapPeriod> parse_cap_period(std::string_view text) noexcept {
  for (auto period : {CapPeriod::day, CapPeriod::week, CapPeriod::month, CapPeriod::lifetime}) {
    if (text == to_string(period)) return period;
  }
  return std::nullopt;
}

std::optional<Timestamp> parse_timestamp(std::string_view s) noexcept {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  if (s.size() < 20) return std::nullopt;
  int y1 = two_digits(s, 0);
  int y2 = two_digits(s, 2);
  int mo = two_digits(s, 5);
  int d = two_digits(s, 8);
  int h = two_digits(s, 11);
  int mi = two_digits(s, 14);
  int se = two_digits(s, 17);
  if (y1 < 0 || y2 < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || se < 0) return std::nullopt;
  if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
      s[16] != ':') {
    return std::nullopt;
  }
  year_month_day date{year{y1 * 100 + y2}, month{static_cast<unsigned>(mo)},
                      day{static_cast<unsigned>(d)}};
  if (!date.ok() || h > 23 || mi > 59 || se > 59) return std::nullopt;
  std::size_t i = 19;
  std::int64_t micros = 0;
  if (s[i] == '.') {
    std::size_t digits = 0;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++digits) {
      if (digits < 6) micros = micros * 10 + (s[i] - '0');
    }
    if (digits == 0 || digits > 9) return std::nullopt;
    for (; digits < 6; ++digits) micros *= 10;
  }
  if (i >= s.size()) return std::nullopt;
  minutes offset{0};
  if (s[i] == 'Z' || s[i] == 'z') {
    ++i;
  } else if (s[i] == '+' || s[i] == '-') {
    int oh = two_digits(s, i + 1);
    int om = two_digits(s, i + 4);
    if (oh < 0 || om < 0 || oh > 23 || om > 59 || i + 3 >= s.size() || s[i + 3] != ':') {
      return std::nullopt;
    }
    offset = minutes{oh * 60 + om};
    if (s[i] == '-') offset = -offset;
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  return Timestamp{sys_days(date) + hours{h} + minutes{mi} + seconds{se} + microseconds{micros} -
                   offset};
}

std::string format_timestamp(Timestamp time) {
  using namespace std::chrono;
  auto days = floor<std::chrono::days>(time);
  year_month_day date{days};
  hh_mm_ss<microseconds> clock{time - days};
  char buffer[48];
  int n = std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02lld",
                        static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                        static_cast<unsigned>(date.day()), static_cast<int>(clock.hours().count()),
                        static_cast<int>(clock.minutes().count()),
                        static_cast<long long>(clock.seconds().count()));
  std::string out(buffer, static_cast<std::size_t>(n));
  if (auto micros = clock.subseconds().count(); micros != 0) {
    std::snprintf(buffer, sizeof buffer, ".%06lld", static_cast<long long>(micros));
    std::string fraction(buffer);
    while (fraction.back() == '0') fraction.pop_back();
    out += fraction;
  }
  out += 'Z';
  return out;
}

DefinitionCheck check_definitions(const nlohmann::json& document, const Limits& rule_limits) {
  DefinitionCheck out;
  Checker checker(rule_limits, out.errors);
  const json* rules = nullptr;
  std::string base;
  if (document.is_object() && document.contains("rules")) {
    for (const auto& [key, value] : document.items()) {
      if (key != "rules") checker.error(Checker::at("", key), "unknown field " + in_quotes(key));
    }
    rules = &document["rules"];
    base = "/rules";
    if (!rules->is_array()) {
      checker.error(base, "must be an array of rules");
      return out;
    }
  } else if (document.is_array()) {
    rules = &document;
  } else if (document.is_object()) {
    out.count = 1;
    if (auto rule = checker.rule(document, "")) out.rules.push_back(std::move(*rule));
    return out;
  } else {
    checker.error("", R"(expected a rule object, an array of rules, or {"rules": [...]})");
    return out;
  }
  if (rules->size() > kMaxRules) {
    checker.error(base, "more than " + std::to_string(kMaxRules) + " rules");
    return out;
  }
  out.count = rules->size();
  std::map<std::string, std::string> names;  // name -> pointer of its first rule
  for (std::size_t i = 0; i < rules->size(); ++i) {
    std::string pointer = base;
    detail::append_pointer_index(pointer, i);
    const json& item = (*rules)[i];
    auto rule = checker.rule(item, pointer);
    if (item.is_object()) {
      if (auto it = item.find("name"); it != item.end() && it->is_string()) {
        auto [seen, inserted] = names.emplace(it->get<std::string>(), pointer);
        if (!inserted) {
          checker.error(Checker::at(pointer, "name"),
                        "duplicate rule name (also at " + seen->second + ")");
          rule.reset();
        }
      }
    }
    if (rule) out.rules.push_back(std::move(*rule));
  }
  return out;
}

std::vector<RuleDefinition> parse_definitions(const nlohmann::json& document,
                                              const Limits& rule_limits) {
  DefinitionCheck check = check_definitions(document, rule_limits);
  if (!check.errors.empty()) {
    std::string detail = detail::summarize("invalid rule definitions", check.errors);
    throw_invalid(std::move(detail), std::move(check.errors));
  }
  return std::move(check.rules);
}

nlohmann::json to_json(const RuleDefinition& rule) {
  json out = json::object();
  out["name"] = rule.name;
  out["description"] = rule.description;
  out["event_type"] = rule.event_type;
  out["conditions"] = rule.conditions;
  out["reward"] = rule.reward;
  if (rule.budget) out["budget"] = *rule.budget;
  if (rule.campaign) out["campaign"] = *rule.campaign;
  json caps = json::object();
  auto cap_json = [](const Cap& cap) {
    return json{{"max", cap.max}, {"period", std::string(to_string(cap.period))}};
  };
  if (rule.caps.per_customer) caps["per_customer"] = cap_json(*rule.caps.per_customer);
  if (rule.caps.global) caps["global"] = cap_json(*rule.caps.global);
  if (rule.caps.cooldown) caps["cooldown"] = *rule.caps.cooldown;
  out["caps"] = std::move(caps);
  out["priority"] = rule.priority;
  out["active"] = rule.active;
  if (rule.valid_from) out["valid_from"] = format_timestamp(*rule.valid_from);
  if (rule.valid_until) out["valid_until"] = format_timestamp(*rule.valid_until);
  out["stop_processing"] = rule.stop_processing;
  return out;
}

}  // namespace loyalty::rules
