#include "catalog/fields.hpp"

#include <loyalty/rules/definition.hpp>

#include <algorithm>
#include <cmath>

namespace loyalty::catalog {

namespace {

bool has_control(std::string_view s, bool allow_newlines) {
  return std::any_of(s.begin(), s.end(), [&](char c) {
    auto u = static_cast<unsigned char>(c);
    if (allow_newlines && (c == '\n' || c == '\t' || c == '\r')) return false;
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace

std::string pointer(std::string_view name) {
  std::string out = "/";
  for (char c : name) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

FieldReader::FieldReader(const nlohmann::json& body) : body_(body) {
  if (!body_.is_object()) errors_.push_back({"", "must be a JSON object"});
}

void FieldReader::error(std::string p, std::string message) {
  errors_.push_back({std::move(p), std::move(message)});
}

void FieldReader::only(std::initializer_list<std::string_view> allowed) {
  if (!body_.is_object()) return;
  for (const auto& [key, value] : body_.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      error(pointer(key), "unknown field");
    }
  }
}

const nlohmann::json* FieldReader::find(std::string_view name) const {
  if (!body_.is_object()) return nullptr;
  auto it = body_.find(name);
  if (it == body_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool FieldReader::has(std::string_view name) const { return find(name) != nullptr; }

std::optional<std::string> FieldReader::text(std::string_view name, bool required,
                                             std::size_t max_len) {
  const auto* v = find(name);
  if (!v) {
    if (required) error(pointer(name), "required");
    return std::nullopt;
  }
  if (!v->is_string()) {
    error(pointer(name), "must be a string");
    return std::nullopt;
  }
  const auto& s = v->get_ref<const std::string&>();
  if (s.find_first_not_of(" \t") == std::string::npos) {
    error(pointer(name), "must not be empty");
    return std::nullopt;
  }
  if (s.size() > max_len) {
    error(pointer(name), "must be at most " + std::to_string(max_len) + " bytes");
    return std::nullopt;
  }
  if (has_control(s, false)) {
    error(pointer(name), "must not contain control characters");
    return std::nullopt;
  }
  return s;
}

std::string FieldReader::description(std::string_view name, std::size_t max_len) {
  const auto* v = find(name);
  if (!v) return "";
  if (!v->is_string()) {
    error(pointer(name), "must be a string");
    return "";
  }
  const auto& s = v->get_ref<const std::string&>();
  if (s.size() > max_len) {
    error(pointer(name), "must be at most " + std::to_string(max_len) + " bytes");
  } else if (has_control(s, true)) {
    error(pointer(name), "must not contain control characters");
  }
  return s;
}

std::optional<MinorUnits> FieldReader::amount(std::string_view name, bool required,
                                              MinorUnits min) {
  const auto* v = find(name);
  if (!v) {
    if (required) error(pointer(name), "required (a decimal string such as \"12.50\")");
    return std::nullopt;
  }
  if (!v->is_string()) {
    error(pointer(name), "must be a decimal string such as \"12.50\", not a JSON number");
    return std::nullopt;
  }
  try {
    MinorUnits value = parse_amount(v->get_ref<const std::string&>());
    if (value < min) {
      error(pointer(name), "must be at least " + format_amount(min));
      return std::nullopt;
    }
    return value;
  } catch (const Error& e) {
    error(pointer(name),
          e.type() == "amount-too-large"
              ? "must be at most " + format_amount(kMaxAmount)
              : "must be a decimal string with at most two decimals, e.g. \"12.50\"");
    return std::nullopt;
  }
}

std::optional<std::string> FieldReader::currency(std::string_view name, bool required) {
  const auto* v = find(name);
  if (!v) {
    if (required) error(pointer(name), "required (USD or ZWG)");
    return std::nullopt;
  }
  if (!v->is_string() || !is_supported_currency(v->get_ref<const std::string&>())) {
    error(pointer(name), "must be USD or ZWG");
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::optional<bool> FieldReader::boolean(std::string_view name) {
  const auto* v = find(name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) {
    error(pointer(name), "must be true or false");
    return std::nullopt;
  }
  return v->get<bool>();
}

std::optional<std::int64_t> FieldReader::integer(std::string_view name, std::int64_t min,
                                                 std::int64_t max) {
  const auto* v = find(name);
  if (!v) return std::nullopt;
  std::optional<std::int64_t> n;
  // is_number_integer() is true for unsigned numbers too: ask about unsigned first, or a number
  // past INT64_MAX would wrap to a negative one.
  if (v->is_number_unsigned()) {
    auto u = v->get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(max)) n = static_cast<std::int64_t>(u);
  } else if (v->is_number_integer()) {
    n = v->get<std::int64_t>();
  } else if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
      n = static_cast<std::int64_t>(d);
    }
  }
  if (!n || *n < min || *n > max) {
    error(pointer(name),
          "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
    return std::nullopt;
  }
  return n;
}

std::optional<std::string> FieldReader::timestamp(std::string_view name) {
  const auto* v = find(name);
  if (!v) return std::nullopt;
  if (!v->is_string() || !rules::parse_timestamp(v->get_ref<const std::string&>())) {
    error(pointer(name),
          "must be an ISO 8601 date-time with a UTC offset, e.g. \"2025-01-31T23:59:59+02:00\"");
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::optional<std::string> FieldReader::choice(std::string_view name, bool required,
                                               std::initializer_list<std::string_view> choices) {
  const auto* v = find(name);
  if (!v) {
    if (required) error(pointer(name), "required");
    return std::nullopt;
  }
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    if (std::find(choices.begin(), choices.end(), s) != choices.end()) return s;
  }
  std::string list;
  for (auto c : choices) list += (list.empty() ? "" : ", ") + std::string(c);
  error(pointer(name), "must be one of " + list);
  return std::nullopt;
}

void FieldReader::throw_if_errors(const std::string& detail) const {
  if (errors_.empty()) return;
  std::string message = detail;
  message += ": " + (errors_[0].pointer.empty() ? std::string("/") : errors_[0].pointer) + " " +
             errors_[0].message;
  if (errors_.size() > 1) message += " (and " + std::to_string(errors_.size() - 1) + " more)";
  throw_invalid(message, errors_);
}

nlohmann::json nullable(const pqxx::field& f) {
  if (f.is_null()) return nullptr;
  return f.as<std::string>();
}

std::optional<std::string> optional_text(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::string>();
}

std::string actor_label(const Actor& actor) {
  return actor.id.empty() ? actor.type : actor.type + ":" + actor.id;
}

void bump_rules_version(db::Tx& tx, const std::string& tenant_id) {
  static const db::Query kBump{"catalog_bump_rules_version",
                               "UPDATE tenants SET rules_version = rules_version + 1, "
                               "updated_at = now() WHERE id = $1"};
  tx.exec(kBump, tenant_id);
}

}  // namespace loyalty::catalog
