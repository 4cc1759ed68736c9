#pragma once
// Private: reading request objects (JSON from the API, or built from CLI flags) field by field,
// collecting every problem with its JSON pointer so one Error(invalid) reports them all.

#include "db/tx.hpp"

#include <loyalty/core/actor.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/core/money.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty::catalog {

/// Reads the fields of one JSON object; problems accumulate in errors().
class FieldReader {
 public:
  explicit FieldReader(const nlohmann::json& body);

  /// Records a problem with the field at `pointer`.
  void error(std::string pointer, std::string message);
  /// Every field not in `allowed` is an error ("unknown field").
  void only(std::initializer_list<std::string_view> allowed);
  /// True when the field is present and not null.
  bool has(std::string_view name) const;

  /// A string of 1..max_len bytes without control characters (trimmed of nothing).
  std::optional<std::string> text(std::string_view name, bool required, std::size_t max_len = 200);
  /// Free text (control characters other than newline and tab refused); "" when absent.
  std::string description(std::string_view name, std::size_t max_len = 2000);
  /// A decimal amount string ("12.50") of at least `min` minor units and at most kMaxAmount.
  std::optional<MinorUnits> amount(std::string_view name, bool required, MinorUnits min = 0);
  /// USD or ZWG.
  std::optional<std::string> currency(std::string_view name, bool required);
  std::optional<bool> boolean(std::string_view name);
  std::optional<std::int64_t> integer(std::string_view name, std::int64_t min, std::int64_t max);
  /// An RFC 3339 date-time with offset; returned as given (PostgreSQL parses it).
  std::optional<std::string> timestamp(std::string_view name);
  /// One of `choices`.
  std::optional<std::string> choice(std::string_view name, bool required,
                                    std::initializer_list<std::string_view> choices);

  const std::vector<FieldError>& errors() const { return errors_; }
  /// Throws Error(invalid) with `detail` when any problem was recorded.
  void throw_if_errors(const std::string& detail) const;

 private:
  const nlohmann::json* find(std::string_view name) const;
  const nlohmann::json& body_;
  std::vector<FieldError> errors_;
};

/// "/name" for a top-level field.
std::string pointer(std::string_view name);

/// A timestamptz column as RFC 3339 UTC text, for SELECT lists: `ts(created_at)`.
#define LOYALTY_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/// The same with microseconds, for ledger movements.
#define LOYALTY_TS_US(col) \
  "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/// The value of a nullable text column, or JSON null.
nlohmann::json nullable(const pqxx::field& f);
/// The field's text when not null.
std::optional<std::string> optional_text(const pqxx::field& f);

/// How an actor is written in ledger rows: "operator", "user:<id>", "api_key:<prefix>".
std::string actor_label(const Actor& actor);

/// Makes the tenant's compiled-rule caches stale: every daemon reloads rules on the next event.
void bump_rules_version(db::Tx& tx, const std::string& tenant_id);

}  // namespace loyalty::catalog
