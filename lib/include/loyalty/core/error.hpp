#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loyalty {

/// What kind of failure an Error is; each edge maps it once (HTTP status, CLI exit code).
enum class ErrorCode {
  not_found,
  conflict,
  invalid,
  unauthorized,
  forbidden,
  rate_limited,
  unavailable,
  internal,
};

/// One problem with one field of an input, located by a JSON pointer (RFC 6901).
struct FieldError {
  std::string pointer;
  std::string message;
  bool operator==(const FieldError&) const = default;
};

/// The one error type of the library. `type` is a stable slug (e.g. "budget-exhausted") that
/// the daemon turns into a problem+json type URI; `fields` lists validation errors.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, std::string type, std::string detail, std::vector<FieldError> fields = {})
      : std::runtime_error(detail),
        code_(code),
        type_(std::move(type)),
        fields_(std::move(fields)) {}

  ErrorCode code() const noexcept { return code_; }
  const std::string& type() const noexcept { return type_; }
  const std::vector<FieldError>& fields() const noexcept { return fields_; }

  /// Adds a member to the problem document (e.g. "existing_id" of a duplicate).
  Error& extend(std::string key, std::string value) {
    extensions_.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  const std::vector<std::pair<std::string, std::string>>& extensions() const noexcept {
    return extensions_;
  }

 private:
  ErrorCode code_;
  std::string type_;
  std::vector<FieldError> fields_;
  std::vector<std::pair<std::string, std::string>> extensions_;
};

/// Shorthands for the common cases.
[[noreturn]] inline void throw_invalid(std::string detail, std::vector<FieldError> fields = {}) {
  throw Error(ErrorCode::invalid, "validation-failed", std::move(detail), std::move(fields));
}
[[noreturn]] inline void throw_not_found(std::string what) {
  throw Error(ErrorCode::not_found, "not-found", std::move(what) + " not found");
}
[[noreturn]] inline void throw_conflict(std::string type, std::string detail) {
  throw Error(ErrorCode::conflict, std::move(type), std::move(detail));
}

/// A short name for an error code ("not_found"), for logs and CLI messages.
std::string_view to_string(ErrorCode code) noexcept;

}  // namespace loyalty
