// The one place where database failures become loyalty::Error codes, and where they are
// described for logs: by SQLSTATE and constraint, never by PostgreSQL's DETAIL (which quotes
// the row: phone numbers, codes).
#include "db/tx.hpp"

#include <loyalty/log/log.hpp>

#include <spdlog/spdlog.h>

#include <string_view>

namespace loyalty::db {

namespace {

// The primary message of a terse libpq error text: "ERROR:  msg\n" -> "msg".
std::string primary_message(std::string_view text) {
  const auto newline = text.find('\n');
  if (newline != std::string_view::npos) text = text.substr(0, newline);
  for (std::string_view severity : {"ERROR:  ", "FATAL:  ", "PANIC:  "}) {
    if (text.rfind(severity, 0) == 0) {
      text.remove_prefix(severity.size());
      break;
    }
  }
  return std::string(text);
}

// The quoted name after `marker` in a message ('... violates unique constraint "x"'), or empty.
// PostgreSQL's messages are in English here (the embedded cluster is initialised without a
// locale); a localised server gives no name and the SQLSTATE alone is logged.
std::string quoted_after(std::string_view message, std::string_view marker) {
  const auto at = message.find(marker);
  if (at == std::string_view::npos) return "";
  const auto start = at + marker.size();
  const auto end = message.find('"', start);
  if (end == std::string_view::npos) return "";
  return std::string(message.substr(start, end - start));
}

// libpqxx 6 throws insufficient_privilege without its SQLSTATE; every other class it throws
// carries one.
std::string sqlstate_of(const pqxx::sql_error& e) {
  if (!e.sqlstate().empty()) return e.sqlstate();
  if (dynamic_cast<const pqxx::insufficient_privilege*>(&e)) return "42501";
  return "";
}

class NoticeLogger : public pqxx::errorhandler {
 public:
  explicit NoticeLogger(pqxx::connection& conn) : pqxx::errorhandler(conn) {}
  bool operator()(const char message[]) noexcept override {
    try {
      spdlog::debug(R"("msg":"db.notice","notice":{})", log::quote(primary_message(message)));
    } catch (...) {
    }
    return false;  // not on to libpq's default, which prints to stderr
  }
};

}  // namespace

std::unique_ptr<pqxx::errorhandler> make_quiet(pqxx::connection& conn) {
  conn.set_verbosity(pqxx::connection_base::terse);
  return std::make_unique<NoticeLogger>(conn);
}

std::string error_log_fields(const std::exception& e) {
  auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
  if (sql == nullptr) return R"("error":)" + log::quote(e.what());
  const std::string state = sqlstate_of(*sql);
  const std::string message = primary_message(sql->what());
  std::string fields = R"("sqlstate":)" + log::quote(state);
  if (auto constraint = quoted_after(message, "constraint \""); !constraint.empty()) {
    fields += R"(,"constraint":)" + log::quote(constraint);
  }
  auto table = quoted_after(message, "relation \"");
  if (table.empty()) table = quoted_after(message, "table \"");
  if (!table.empty()) fields += R"(,"table":)" + log::quote(table);
  const bool data_class = state.rfind("22", 0) == 0 || state.rfind("23", 0) == 0;
  if (!data_class) fields += R"(,"error":)" + log::quote(message);
  return fields;
}

std::string error_text(const std::exception& e) {
  auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
  if (sql == nullptr) return e.what();
  std::string text = "database error " + sqlstate_of(*sql);
  const std::string message = primary_message(sql->what());
  if (auto constraint = quoted_after(message, "constraint \""); !constraint.empty()) {
    text += " (constraint " + constraint + ")";
  }
  return text;
}

bool is_retryable(const std::exception& e) {
  if (dynamic_cast<const pqxx::serialization_failure*>(&e)) return true;
  if (dynamic_cast<const pqxx::deadlock_detected*>(&e)) return true;
  if (auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string state = sqlstate_of(*sql);
    return state == "40001" || state == "40P01";
  }
  return false;
}

bool is_connection_loss(const std::exception& e) {
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e)) return false;
  if (dynamic_cast<const pqxx::broken_connection*>(&e)) return true;
  if (auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string state = sqlstate_of(*sql);
    return state == "57P01" || state == "57P02" || state == "57P03" || state.rfind("08", 0) == 0;
  }
  return false;
}

void rethrow_as_error(const std::exception& e) {
  if (auto* err = dynamic_cast<const Error*>(&e)) throw *err;
  if (dynamic_cast<const pqxx::broken_connection*>(&e) ||
      dynamic_cast<const pqxx::in_doubt_error*>(&e)) {
    throw Error(ErrorCode::unavailable, "database-unavailable", "the database is not reachable");
  }
  if (auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string state = sqlstate_of(*sql);
    // The SQLSTATE and constraint go to the debug log, never to users; the row never anywhere.
    spdlog::debug(R"("msg":"db.error",{})", error_log_fields(e));
    if (state == "23505") throw Error(ErrorCode::conflict, "conflict", "the record already exists");
    if (state == "23503") {
      throw Error(ErrorCode::invalid, "reference-not-found", "a referenced record does not exist");
    }
    // numeric_value_out_of_range: a bigint sum (a balance, a budget's counters) would overflow.
    if (state == "22003") {
      throw Error(ErrorCode::invalid, "amount-out-of-range",
                  "an amount or a number of points is too large to store");
    }
    if (state == "23514" || state == "23502" || state.rfind("22", 0) == 0) {
      throw Error(ErrorCode::invalid, "validation-failed", "the values break a rule of the data");
    }
    if (state == "42501") {
      throw Error(ErrorCode::forbidden, "forbidden", "not permitted by the database policy");
    }
    if (state == "40001" || state == "40P01") {
      throw Error(ErrorCode::unavailable, "contention", "too much contention; try again");
    }
    if (state == "57014") throw Error(ErrorCode::unavailable, "timeout", "the query timed out");
    if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0) {
      throw Error(ErrorCode::unavailable, "database-unavailable", "the database is not reachable");
    }
    // Errors raised by our own triggers/functions carry their message for the user (P0001).
    if (state == "P0001") {
      throw Error(ErrorCode::conflict, "conflict", primary_message(sql->what()));
    }
  }
  spdlog::error(R"("msg":"db.unexpected",{})", error_log_fields(e));
  throw Error(ErrorCode::internal, "internal", "internal database error");
}

}  // namespace loyalty::db
