#pragma once
// A customer's points: the lots their credits opened and every movement, with why it happened.
// Every credit (points earned by a reward, an adjustment, a bulk grant) is a lot with its own
// expiry; spending, refunds, cancels and negative adjustments take from the lots that expire
// first; the expiry run (loyaltyctl expire) takes only what is left of a lot. The balance never
// goes below zero, nor a lot's remaining below zero or above its amount (CHECKs in the schema).

#include <loyalty/core/actor.hpp>
#include <loyalty/core/page.hpp>
#include <loyalty/issuances/issuances.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace loyalty::db {
class Database;
}

namespace loyalty::points {

/// One movement of a customer's points: a credit that opened a lot, or a debit from one.
struct Movement {
  std::int64_t id = 0;
  std::string kind;          ///< earn, grant, adjustment, spend, refund, cancel, expire, release
  std::int64_t points = 0;   ///< signed: credits positive, debits negative (a release: 0)
  std::int64_t pending = 0;  ///< the part of it that moved pending points: 0, or all of
                             ///< `points` for a pending lot's earn and debits; a release: minus
                             ///< what it made spendable
  std::string reason;
  std::string rule_id, event_id, issuance_id;  ///< empty when none
  std::string reference;                       ///< a bulk grant's line reference, or empty
  std::string actor;                           ///< operator, system, user:<id>, api_key:<prefix>
  std::int64_t lot_id = 0;
  std::string lot_expires_at;  ///< RFC 3339, empty: the lot never expires
  std::string created_at;      ///< RFC 3339 with microseconds
};

nlohmann::json to_json(const Movement& m);

/// A pending lot: points earned inside the tenant's returns window (points_pending_days).
struct PendingLot {
  std::int64_t lot_id = 0;
  std::int64_t points = 0;  ///< what is left in it
  std::string until;        ///< RFC 3339 (UTC): when its points become spendable
};

/// A customer's balance and a page of their movements, newest first. Lots whose returns window
/// is over are released (made spendable) before the answer.
struct History {
  std::int64_t balance = 0;    ///< customers.points_balance: points held outside pending lots
  std::int64_t spendable = 0;  ///< what the lots not yet past their expiry and not pending hold
  std::int64_t pending = 0;    ///< customers.points_pending: what the pending lots hold
  std::vector<PendingLot> pending_lots;  ///< those coming due first first
  Page<Movement> movements;
};

nlohmann::json to_json(const History& h);

/// Error(not_found) for an unknown customer; Error(invalid) with "/cursor" for a bad cursor.
History history(db::Database& db, const std::string& tenant_id, const std::string& customer_id,
                const PageRequest& page);

/// What an adjustment did.
struct Adjustment {
  std::int64_t points = 0;   ///< signed, as asked
  std::int64_t balance = 0;  ///< the customer's balance after it
  std::int64_t lot_id = 0;   ///< a credit's new lot; 0 for a debit (it may take from several)
};

nlohmann::json to_json(const Adjustment& a);

/// Adjusts a customer's points by `points` (non-zero, at most kMaxPoints either way) with a
/// reason (1 to 500 characters), in one transaction, audited: a credit opens a lot that never
/// expires; a debit takes from the lots that expire first, never pending ones, and cannot take
/// the balance below 0. Throws Error(not_found) for an unknown customer; Error(invalid) with
/// "/points" or "/reason"; Error(invalid, "insufficient-points") for a debit over the balance
/// (extension: balance).
Adjustment adjust(db::Database& db, const std::string& tenant_id, const std::string& customer_id,
                  std::int64_t points, const std::string& reason, const Actor& actor);

/// A bulk grant's outcome, line by line (line numbers count from 1, the header included).
struct GrantReport {
  struct Applied {
    std::int64_t line = 0;
    std::string customer_id, reference;
    std::int64_t points = 0;
  };
  struct Refused {
    std::int64_t line = 0;
    std::string reason;  ///< never echoes a phone number
  };
  bool dry_run = false;
  bool applied_all = false;           ///< the grant was applied (nothing refused, not a dry run)
  std::int64_t lines = 0;             ///< grant lines read (the header and blank lines left out)
  std::vector<Applied> applied;       ///< applied (to be, on a dry run); empty when any is refused
  std::vector<std::int64_t> already;  ///< lines whose reference was granted before: skipped
  std::vector<Refused> refused;
  std::int64_t points = 0;  ///< the points applied (or to be)
};

nlohmann::json to_json(const GrantReport& r);

/// Grants points in bulk from CSV text (RFC 4180: quoted fields, "" inside quotes, CRLF or LF),
/// one line per grant: customer (phone number or id), points (1 to kMaxPoints), reason (1 to
/// 500 characters), reference (1 to 200 characters, unique in the file). An optional first line
/// `customer,points,reason,reference` is a header. All or nothing, in one transaction: when any
/// line is refused (malformed, unknown customer, bad points or reason, a reference twice), none
/// is applied. Idempotent by reference: a line whose reference was granted before is skipped.
/// Each grant is a lot that never expires with a `grant` movement (its reason and reference).
/// With dry_run, reports what would happen and changes nothing. Error(invalid) when the text
/// has no grant line or more than 100,000.
GrantReport grant(db::Database& db, const std::string& tenant_id, const std::string& csv,
                  bool dry_run, const Actor& actor);

/// What a claim gave: the reward issued, and the points it spent.
struct Claim {
  issuances::Issuance issuance;
  std::int64_t points_spent = 0;
  std::int64_t balance = 0;  ///< the customer's balance after it
  bool replayed = false;     ///< the answer of an earlier claim under the same idempotency key
};

nlohmann::json to_json(const Claim& c);

/// A customer claims a reward (id or name) with its points price, in one transaction: the
/// points spent from their lots that expire first (a `spend` movement per lot), the issuance
/// created and issued at once with its code or one-time PIN (notified as any issued reward),
/// its cost reserved and charged in the reward's budget as for any issuance, a physical
/// reward's stock taken. Concurrent claims of one customer serialize on the customer's row: the
/// balance never pays for more than it holds.
/// Throws Error(not_found) for an unknown customer or reward;
/// Error(invalid, "insufficient-points") when the lots not past their expiry and not pending
/// hold less than the price (extensions: points_price, spendable);
/// Error(invalid, "not-claimable-with-points") for a reward without a points price;
/// Error(conflict): "customer-not-active", "reward-not-available" (inactive or outside its
/// dates), "out-of-stock", "pool-empty", "budget-exhausted".
/// With `if_spendable`, the claim is made only if the customer's spendable points are still
/// what they confirmed against: Error(conflict, "points-changed", with "spendable") otherwise
/// (a confirmation sent twice claims once).
/// With an `idempotency_key` (1 to 200 characters, per tenant, kept for good), a claim made
/// before under the key by the same customer for the same reward is answered again (replayed,
/// its issuance as it is now, nothing written); under another customer or reward it is
/// Error(invalid, "idempotency-key-reused"). Concurrent claims under one key of one customer
/// serialize on the customer's row: one claims, the others replay it.
Claim claim_reward(db::Database& db, const std::string& tenant_id, const std::string& customer_id,
                   const std::string& reward, const Actor& actor,
                   std::optional<std::int64_t> if_spendable = std::nullopt,
                   const std::string& idempotency_key = {});

}  // namespace loyalty::points
