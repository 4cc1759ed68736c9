#pragma once
// Private: the budget operations of the event pipeline and the issuance worker, each run inside
// the caller's transaction (with the tenant set). Each locks the budget row, rolls the budget into
// the current period if one has ended, changes the counters by a conditional UPDATE and appends
// one balanced ledger movement — all in one round trip (SQL functions in
// migrations/0010_budget_ledger.sql). Concurrent calls on one budget serialize on its row lock.
//
//   reserve  available -> reserved   when an issuance is created (pipeline)
//   charge   reserved  -> utilized   when it is issued (worker)
//   spend    utilized  -> spent      when it is redeemed
//   release  reserved|utilized -> available   when it is cancelled or expires
//
// Movements reference the issuance (a foreign key): create the issuance row first, in the same
// transaction, and roll back to a savepoint taken before it when reserve answers `exhausted`.

#include "db/tx.hpp"

#include <loyalty/core/actor.hpp>
#include <loyalty/core/money.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace loyalty::budgets {

enum class ReserveStatus {
  reserved,   ///< the amount is now reserved (a zero amount reserves nothing and succeeds)
  exhausted,  ///< a hard-capped budget has less than `amount` available: nothing changed
};

struct Reservation {
  ReserveStatus status = ReserveStatus::exhausted;
  std::optional<std::int64_t> movement_id;
  std::optional<std::string> period_start;  ///< RFC 3339 UTC, for periodic budgets
  bool threshold_queued = false;            ///< this reservation queued budget.threshold
};

/// Reserves `amount` of `currency` in a budget for an issuance (issuance_id may be empty).
/// A hard-capped budget is never exceeded, whatever the concurrency. The first reservation of a
/// period that brings usage to the soft-cap threshold queues one `budget.threshold` outbox row.
/// Throws Error(not_found) for an unknown budget, Error(invalid, "currency-mismatch") when the
/// budget is in another currency, Error(invalid) for a negative amount.
Reservation reserve(db::Tx& tx, const std::string& tenant_id, const std::string& budget_id,
                    MinorUnits amount, const std::string& currency, const std::string& issuance_id,
                    const Actor& actor = Actor::system());

/// What a budget leaves for reservations, read without locking it.
struct Room {
  std::string currency;
  /// What reserve would take now (the whole total when the period has ended: the rollover
  /// comes first); none for a budget without a hard cap, where any amount fits.
  std::optional<MinorUnits> available;
};

/// The room of some budgets, by id (an unknown id is left out). Reads committed data and locks
/// nothing: a reservation made on it may still find the budget exhausted by then.
std::map<std::string, Room> read_room(db::Tx& tx, const std::string& tenant_id,
                                      const std::vector<std::string>& budget_ids);

/// One issuance's reservation, for reserve_with_commit.
struct ReserveItem {
  std::string budget_id;
  MinorUnits amount = 0;
  std::string currency;
  std::string issuance_id;
};

/// Makes reserve's reservations with the transaction's COMMIT (db::Tx::exec_with_commit), in
/// budget id order (the lock order of every writer of budgets) and one UPDATE per budget for all
/// its items (a group of events' reservations), so the budget rows stay locked for no round trip
/// more than the commit. A budget with less room than the caller read (a
/// concurrent reservation took it) fails the commit with a serialization failure, and
/// with_tenant runs the transaction again; anything else reserve refuses fails it too.
void reserve_with_commit(db::Tx& tx, const std::string& tenant_id, std::vector<ReserveItem> items,
                         const Actor& actor = Actor::system());

enum class SettleStatus {
  settled,        ///< the movement was written (or the amount was zero)
  closed_period,  ///< reserved in a period that has closed: the rollover already settled it
};

struct Settlement {
  SettleStatus status = SettleStatus::settled;
  std::optional<std::int64_t> movement_id;
};

/// reserved -> utilized (the issuance was issued).
/// Throws Error(not_found) for an unknown budget, Error(conflict, "budget-counter-underflow")
/// when less than `amount` is reserved (a double charge).
Settlement charge(db::Tx& tx, const std::string& tenant_id, const std::string& budget_id,
                  MinorUnits amount, const std::string& issuance_id,
                  const Actor& actor = Actor::system());

/// One issuance's charge, for charge_all.
struct Charge {
  std::string budget_id;
  MinorUnits amount = 0;
  std::string issuance_id;
};

/// charge for several issuances, one round trip per budget, in id order (the event
/// pipeline's lock order). Throws as charge does; closed periods are skipped, as charge reports.
void charge_all(db::Tx& tx, const std::string& tenant_id, std::vector<Charge> charges,
                const Actor& actor = Actor::system());

/// utilized -> spent (the issuance was redeemed). Throws as charge does.
Settlement spend(db::Tx& tx, const std::string& tenant_id, const std::string& budget_id,
                 MinorUnits amount, const std::string& issuance_id,
                 const Actor& actor = Actor::system());

/// Where released money comes from: a reserved issuance (cancelled before it was issued) or a
/// utilized one (cancelled or expired after it was issued).
enum class ReleaseFrom { reserved, utilized };

/// reserved|utilized -> available. Throws as charge does.
Settlement release(db::Tx& tx, const std::string& tenant_id, const std::string& budget_id,
                   MinorUnits amount, const std::string& issuance_id, ReleaseFrom from,
                   const Actor& actor = Actor::system());

/// Sets the transaction's clock (SQL app_now(), read by every operation here) to an RFC 3339
/// instant until the transaction ends; for tests of periods. An empty string restores now().
void set_clock(db::Tx& tx, const std::string& instant);

}  // namespace loyalty::budgets
