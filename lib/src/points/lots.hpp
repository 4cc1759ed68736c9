#pragma once
// Private: how the library moves a customer's points, inside the caller's transaction (tenant
// set). Every credit opens a lot with its own expiry; every debit takes from the customer's lots
// in the order they expire, oldest first (a spend only from those not past their expiry); the
// expiry run takes what is left of each lot past its expiry. Each change writes one points_ledger
// movement per lot it touches and moves customers.points_balance by the same amount, so the
// balance, the lots and the movements always agree (loyaltyctl ledger verify checks them).
//
// Pending points (migration 0113): with the tenant's points_pending_days, what events earn opens
// a pending lot, held until the event's occurred_at + that many days (in UTC): its points count
// in customers.points_pending, not in points_balance (the spendable balance), and no spend takes
// from it. A refund or cancel takes from its issuance's pending lot first; no other debit takes
// from a pending lot. Locking a customer (lock_customer, lock_customers) first releases their
// lots whose window is over — a `release` movement each, their points moved to the balance — so
// every debit and every answer after the lock sees them spendable without waiting for the
// expiry run, which releases them too (release_batch).
//
// Lock order: the customer row first (lock_customers), then their lots. Every writer of points
// (the event pipeline, the worker, claims, adjustments, the expiry run) takes the customer's row
// before it reads the lots, so a debit never reads lots that a concurrent one is changing.

#include "db/tx.hpp"

#include <loyalty/core/actor.hpp>
#include <loyalty/points/points.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace loyalty::points {

/// What a movement is for: its kind (points_ledger.kind), a reason people read, and what
/// caused it (each optional).
struct Cause {
  std::string kind;  ///< earn, grant, adjustment | spend, refund, cancel, adjustment
  std::string reason;
  std::optional<std::string> issuance_id, event_id, rule_id;
  std::optional<std::int64_t> reverses_id;  ///< the earn entry a refund takes back
  std::optional<std::string> reference;     ///< a bulk grant's line reference
};

/// Locks the customers' rows (FOR NO KEY UPDATE, in id order) until the transaction ends, and
/// releases their pending lots whose window is over.
void lock_customers(db::Tx& tx, const std::string& tenant_id, std::vector<std::string> ids);

/// Locks one customer's row and releases their pending lots whose window is over; returns their
/// status, none when there is no such customer.
std::optional<std::string> lock_customer(db::Tx& tx, const std::string& tenant_id,
                                         const std::string& customer_id);

/// Before an answer that shows a customer's points: when any of their pending lots is due, locks
/// them (lock_customer), which releases it. Nothing is locked when none is due.
void release_due(db::Tx& tx, const std::string& tenant_id, const std::string& customer_id);

struct Balances {
  std::int64_t balance = 0;  ///< customers.points_balance: spendable (held outside pending lots)
  std::int64_t pending = 0;  ///< customers.points_pending: what the pending lots hold
};

/// The customer's balances, none when there is no such customer.
std::optional<Balances> balances(db::Tx& tx, const std::string& tenant_id,
                                 const std::string& customer_id);

/// The customer's pending lots with points left, those coming due first first.
std::vector<PendingLot> pending_lots(db::Tx& tx, const std::string& tenant_id,
                                     const std::string& customer_id);

/// Credits `points` (> 0) as a new lot expiring at `expires_at` (RFC 3339; empty: never). The
/// customer must be locked. Returns the lot's id.
std::int64_t credit(db::Tx& tx, const std::string& tenant_id, const std::string& customer_id,
                    std::int64_t points, const std::string& expires_at, const Cause& cause,
                    const Actor& actor);

/// Credits what issued points rewards earn: one lot each, expiring with its issuance, the reason
/// naming the reward. The customers must be locked. Parallel vectors.
void credit_issued(db::Tx& tx, const std::string& tenant_id,
                   const std::vector<std::string>& customer_ids,
                   const std::vector<std::int64_t>& points,
                   const std::vector<std::string>& issuance_ids);

enum class Shortfall {
  refuse,   ///< take nothing unless the lots hold all of `points` (a spend, an adjustment)
  partial,  ///< take what the lots hold, up to `points` (a refund, a cancel)
};

/// Which lots a debit may take from.
enum class Lots {
  live,  ///< those not past their expiry: what a customer may spend
  held,  ///< every lot with points left (the balance), including those past their expiry that
         ///< the expiry run has not emptied yet: what a refund, a cancel or an adjustment takes
         ///< back
};

/// Debits up to `points` (> 0) from the customer's lots, those expiring first first; the
/// customer must be locked (lock_customers). Returns the points taken: with Shortfall::refuse,
/// either all of them or 0. The balance never goes below zero (a CHECK), nor a lot's remaining.
std::int64_t debit(db::Tx& tx, const std::string& tenant_id, const std::string& customer_id,
                   std::int64_t points, Shortfall shortfall, Lots lots, const Cause& cause,
                   const Actor& actor);

/// The customer's balance (customers.points_balance), none when there is no such customer.
std::optional<std::int64_t> balance(db::Tx& tx, const std::string& tenant_id,
                                    const std::string& customer_id);

/// What the customer's live lots hold now (what a spend may take): not past their expiry, not
/// pending.
std::int64_t spendable(db::Tx& tx, const std::string& tenant_id, const std::string& customer_id);

/// The cause of taking back an issuance's points (`kind`: refund or cancel): the issuance, its
/// rule and the earn entry it reverses, when it has them.
Cause taking_back(db::Tx& tx, const std::string& tenant_id, const std::string& issuance_id,
                  std::string kind, std::string reason);

struct Expired {
  std::int64_t lots = 0;    ///< lots that expired with points left in them
  std::int64_t points = 0;  ///< the points they held
};

/// Expires the lots past their expiry that still hold points, up to 500 customers' worth, each
/// customer locked first: each lot's remaining becomes 0 with an `expire` movement. Returns what
/// expired; `more` is set when customers remain for another batch.
Expired expire_batch(db::Tx& tx, const std::string& tenant_id, bool& more);

/// What expire_batch would take now, all batches, changing nothing.
Expired count_due(db::Tx& tx, const std::string& tenant_id);

/// Releases the pending lots whose window is over, up to 500 customers' worth, each customer
/// locked first. Returns the lots released with points left and those points; `more` is set when
/// customers remain for another batch.
Expired release_batch(db::Tx& tx, const std::string& tenant_id, bool& more);

/// What release_batch would release now, all batches, changing nothing.
Expired count_release(db::Tx& tx, const std::string& tenant_id);

/// Warns once of the lots that expire within `days` days: one `points_expiring` notice a
/// consenting customer, with what those lots hold and the first expiry. Returns {lots marked,
/// notices queued} for one batch; call again until none is marked.
std::pair<std::int64_t, std::int64_t> warn_batch(db::Tx& tx, const std::string& tenant_id,
                                                 int days);

/// How many customers warn_batch would warn, all batches.
std::int64_t count_warn(db::Tx& tx, const std::string& tenant_id, int days);

}  // namespace loyalty::points
