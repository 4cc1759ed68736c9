// The one place where database failures become loyalty::Error codes.
#include "db/tx.hpp"

#include <spdlog/spdlog.h>

namespace loyalty::db {

bool is_retryable(const std::exception& e) {
  if (dynamic_cast<const pqxx::serialization_failure*>(&e)) return true;
  if (dynamic_cast<const pqxx::deadlock_detected*>(&e)) return true;
  if (auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    return state == "40001" || state == "40P01";
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
    std::string state = sql->sqlstate();
    // libpqxx 6.4 throws insufficient_privilege (the class of 42501 alone) without its SQLSTATE:
    // a row-level security violation or a missing grant was an internal error.
    if (state.empty() && dynamic_cast<const pqxx::insufficient_privilege*>(&e)) state = "42501";
    // SQL text and constraint names stay in the debug log, never in user-facing messages.
    spdlog::debug("db.error sqlstate={} error={}", state, sql->what());
    if (state == "23505") throw Error(ErrorCode::conflict, "conflict", "the record already exists");
    if (state == "23503") {
      throw Error(ErrorCode::invalid, "reference-not-found", "a referenced record does not exist");
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
    if (state == "P0001") throw Error(ErrorCode::conflict, "conflict", sql->what());
  }
  spdlog::error("db.unexpected error={}", e.what());
  throw Error(ErrorCode::internal, "internal", "internal database error");
}

}  // namespace loyalty::db
