#pragma once
// Reading members of JSON that came from outside (webhook bodies, Graph API answers) without
// ever throwing: a missing member, a member of another type or a non-object reads as absent.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loyalty::whatsapp::detail {

/// The member `key` of `value`, or nullptr when `value` is not an object or has no such member.
inline const nlohmann::json* member(const nlohmann::json& value, std::string_view key) {
  if (!value.is_object()) return nullptr;
  const auto found = value.find(key);
  return found == value.end() ? nullptr : &*found;
}

/// The member `key` when it is an object (an array), else nullptr.
inline const nlohmann::json* object_at(const nlohmann::json& value, std::string_view key) {
  const auto* found = member(value, key);
  return found != nullptr && found->is_object() ? found : nullptr;
}
inline const nlohmann::json* array_at(const nlohmann::json& value, std::string_view key) {
  const auto* found = member(value, key);
  return found != nullptr && found->is_array() ? found : nullptr;
}

/// The member `key` when it is a string, else std::nullopt.
inline std::optional<std::string_view> string_at(const nlohmann::json& value,
                                                 std::string_view key) {
  const auto* found = member(value, key);
  if (found == nullptr || !found->is_string()) return std::nullopt;
  return std::string_view(found->get_ref<const std::string&>());
}

/// The member `key` when it is a string, else "".
inline std::string_view string_or_empty(const nlohmann::json& value, std::string_view key) {
  return string_at(value, key).value_or(std::string_view());
}

/// The member `key` when it is an integer (or a string of at most 18 decimal digits, as Meta
/// writes timestamps) that fits an int64, else std::nullopt.
inline std::optional<std::int64_t> integer_at(const nlohmann::json& value, std::string_view key) {
  const auto* found = member(value, key);
  if (found == nullptr) return std::nullopt;
  if (found->is_number_integer() && !found->is_number_unsigned()) return found->get<std::int64_t>();
  if (found->is_number_unsigned()) {
    const auto n = found->get<std::uint64_t>();
    if (n > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(n);
  }
  if (!found->is_string()) return std::nullopt;
  const auto& text = found->get_ref<const std::string&>();
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t n = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

}  // namespace loyalty::whatsapp::detail
