#pragma once
// Private: what the events of one group leave for its COMMIT (group commit: pipeline.cpp). The
// writes to rows that many transactions share — a budget's counters, a reward's stock — and the
// events' answers and jobs are not made event by event but once for the whole group, set-based,
// in the COMMIT's round trip. Until then the group remembers them, so that a later event of the
// group sees the room the earlier ones took and the answer an earlier one gave to its key, as it
// would had they committed one after the other.

#include "budgets/ledger_ops.hpp"
#include "db/tx.hpp"

#include <loyalty/core/money.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace loyalty::events {

/// One event's share of the group's writes, kept apart until the event has succeeded (an event
/// that fails leaves nothing behind).
struct EventWrites {
  std::vector<std::string> stock;                  ///< a reward id per item taken
  std::vector<budgets::ReserveItem> reservations;  ///< a budget reservation per issuance
  std::string event_id;
  std::string answer;     ///< the stored answer's body
  bool rewarded = false;  ///< queues the job that issues them
};

/// An answer an earlier event of the group gave under an idempotency key.
struct GroupAnswer {
  std::string request_hash;
  std::string body;
};

class GroupWrites {
 public:
  /// What earlier events of the group reserved from a budget, not yet written.
  MinorUnits budget_taken(const std::string& budget_id) const;
  /// How many items of a reward's stock earlier events of the group took, not yet written.
  std::int64_t stock_taken(const std::string& reward_id) const;
  /// The answer an earlier event of the group gave under this key, or null.
  const GroupAnswer* answered(const std::string& idempotency_key) const;

  /// Adds a succeeded event's writes to the group's.
  void add(const std::string& idempotency_key, const std::string& request_hash, EventWrites w);

  /// Sends the group's writes with the transaction's COMMIT: the stock, the budget reservations
  /// (one statement each, in id order, the lock order of every writer), the jobs and the
  /// answers (one statement each).
  void write_with_commit(db::Tx& tx, const std::string& tenant_id);

 private:
  std::map<std::string, MinorUnits> budget_taken_;
  std::map<std::string, std::int64_t> stock_taken_;
  std::map<std::string, GroupAnswer> answers_;
  std::vector<std::string> stock_;
  std::vector<budgets::ReserveItem> reservations_;
  std::vector<std::string> answered_ids_, answered_bodies_, rewarded_ids_;
};

}  // namespace loyalty::events
