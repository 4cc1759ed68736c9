#pragma once
// Private: what the event pipeline reads and writes of issuances, inside its transaction (tenant
// set): the counts its caps compare, the reserved issuances it creates, and a refund's targets.

#include "db/tx.hpp"

#include <loyalty/issuances/issuances.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace loyalty::issuances {

/// A customer's own issuances from a rule (cancelled ones do not count).
struct CustomerCapCounts {
  std::int64_t in_period = 0;  ///< since the start of `period` (budget_period_start's names)
  bool cooling = false;        ///< one was created less than `cooldown_seconds` ago
};

/// Counts a customer's issuances from a rule through issuances_caps, however many the rule gave
/// everyone else. `period` is "daily", "weekly", "monthly" or "none" (since ever).
CustomerCapCounts count_customer_caps(db::Tx& tx, const std::string& tenant_id,
                                      const std::string& rule_id, const std::string& customer_id,
                                      const std::string& period, const std::string& timezone,
                                      std::int64_t cooldown_seconds);

/// Serializes, until the commit, the transactions that create issuances of a rule with a global
/// cap: each counts the rule's issuances after the one before it committed.
void lock_rule_issuance(db::Tx& tx, const std::string& rule_id);

/// The rule's issuances since the start of `period`, every customer's.
std::int64_t count_rule_issuances(db::Tx& tx, const std::string& tenant_id,
                                  const std::string& rule_id, const std::string& period,
                                  const std::string& timezone);

/// A reserved issuance to create for an event (or for a claim with points: no event nor rule,
/// both empty).
struct NewReserved {
  std::string customer_id, event_id, rule_id, reward_id;
  std::optional<std::string> budget_id, campaign_id;
  std::optional<std::string> code;  ///< a generated voucher's new code (pooled: from the pool)
  /// The customer's tier multiplier (basis points; none: 1x), for a points reward's points.
  std::optional<int> points_multiplier_bp;
};

enum class ReserveOutcome {
  created,
  reward_missing,  ///< the reward is gone
  pool_empty,      ///< a pooled voucher found no available code left
  code_taken,      ///< the generated code is some issuance's or pool's already: try another
};

struct Reserved {
  ReserveOutcome outcome = ReserveOutcome::reward_missing;
  std::optional<Issuance> issuance;  ///< as the API shows it, when created
};

/// Creates the issuance in state `reserved`, with the reward's cost, points (times the tier
/// multiplier, rounded down, in numeric: at most kMaxPoints × 10, and a cast past 64 bits would
/// fail) and expiry, and for
/// a pooled voucher a code from its pool in the same statement (codes go out in code order,
/// each to exactly one issuance: FOR UPDATE SKIP LOCKED).
Reserved create_reserved(db::Tx& tx, const std::string& tenant_id, const NewReserved& item);

/// An issuance a refund of its event may take back.
struct RefundTarget {
  std::string id, state, reward_type;
  std::int64_t points = 0;
};

/// The issuances of an event, in creation order.
std::vector<RefundTarget> refund_targets(db::Tx& tx, const std::string& tenant_id,
                                         const std::string& event_id);

/// Takes back up to `points` of an issuance's points from the customer's balance (never below
/// zero) with a `refund` entry that reverses its earning; returns the points taken.
std::int64_t take_back_points(db::Tx& tx, const std::string& tenant_id,
                              const std::string& customer_id, const std::string& issuance_id,
                              const std::string& refund_event_id, std::int64_t points);

}  // namespace loyalty::issuances
