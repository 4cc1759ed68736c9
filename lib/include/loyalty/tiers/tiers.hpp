#pragma once
// Tiers: per tenant, a ladder of ordered tiers (Bronze, Silver, Gold) that customers reach by a
// qualifying measure — points earned, or amount spent in minor units of the tenant's currency —
// over a rolling window of N days or the calendar year in the tenant's time zone. A customer
// moves up as soon as an event raises their measure past a threshold (a purchase for amount
// spent, points credited by the worker for points earned) and down only when `loyaltyctl tiers
// recompute` finds them below their tier for the policy's grace days. Each move is a row of the
// customer's tier history and one `tier.changed` outbox row. Rules see the tier's name as
// `customer.tier`; a tier's earning multiplier scales the points of points rewards reserved for
// its customers.

#include <loyalty/core/actor.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace loyalty::db {
class Database;
}

namespace loyalty::tiers {

/// One rung of the ladder.
struct Tier {
  std::string id, name;
  int rank = 0;                ///< 1 is the lowest tier
  std::int64_t threshold = 0;  ///< the measure that reaches it
  int multiplier_bp = 10000;   ///< earning multiplier in basis points (10000 = 1x)
};

/// A tenant's tier policy and ladder, lowest tier first. `defined` is false (and `tiers` empty)
/// for a tenant without tiers.
struct Ladder {
  bool defined = false;
  std::string measure;             ///< points_earned | amount_spent
  std::string window;              ///< rolling | calendar_year
  std::optional<int> window_days;  ///< rolling only
  int grace_days = 0;
  std::vector<Tier> tiers;
  std::string updated_at;  ///< RFC 3339, empty when not defined
};

nlohmann::json to_json(const Ladder& ladder);

/// The tenant's ladder (not `defined` when it has none).
Ladder ladder(db::Database& db, const std::string& tenant_id);

/// Replaces the tenant's whole policy and ladder in one transaction, audited (`tiers.set`):
/// `body` is {measure, window, window_days (rolling only), grace_days (default 0), tiers: [{name,
/// threshold, multiplier_bp (default 10000)}, ...]} lowest tier first. A tier keeps its id (and
/// its customers) when its name is kept; the customers of a tier no longer in the ladder hold
/// none until they are evaluated again. `tiers: []` removes the tenant's tiers altogether.
/// Customers are not re-evaluated here: their next event, or `tiers recompute`, does it.
/// Throws Error(invalid) with a pointer per bad field (e.g. "/tiers/1/threshold": thresholds must
/// rise with the rank).
Ladder set_ladder(db::Database& db, const std::string& tenant_id, const nlohmann::json& body,
                  const Actor& actor);

/// One move of a customer between tiers.
struct Change {
  std::int64_t id = 0;
  std::optional<std::string> from, to;  ///< tier names as they were; none: no tier
  std::string reason;                   ///< upgrade | downgrade
  std::int64_t measure = 0;             ///< the measure that moved them
  std::string event_id;                 ///< the event behind an upgrade, or empty
  std::string changed_at;               ///< RFC 3339
};

/// A customer's tier now and every move, newest first.
struct CustomerTiers {
  std::string customer_id;
  std::optional<std::string> tier;  ///< its name; none: no tier
  std::string since;                ///< when they reached it (RFC 3339), empty when none
  std::string below_since;          ///< when a recompute first found them below it, or empty
  std::int64_t measure = 0;         ///< their qualifying measure now (0 for a tenant without tiers)
  std::vector<Change> changes;
};

nlohmann::json to_json(const CustomerTiers& t);

/// The customer's tier and history (at most the newest 500 moves). Error(not_found) for an
/// unknown customer.
CustomerTiers customer_tiers(db::Database& db, const std::string& tenant_id,
                             const std::string& customer_id);

/// What a recompute did.
struct RecomputeReport {
  std::int64_t customers = 0;   ///< customers evaluated
  std::int64_t upgraded = 0;    ///< moved up
  std::int64_t downgraded = 0;  ///< moved down (after their grace period)
};

nlohmann::json to_json(const RecomputeReport& r);

/// Evaluates every customer of the tenant (erased ones excepted) now, in batches of 200, each
/// batch one transaction: upgrades, and downgrades of those below their tier for the grace
/// days (the first recompute that finds a customer below starts their grace period). Nothing
/// for a tenant without tiers. Safe to run beside the event pipeline: each customer is locked
/// while evaluated.
RecomputeReport recompute(db::Database& db, const std::string& tenant_id);

/// The tenants that have tiers, for `tiers recompute --all`.
std::vector<std::string> tenants_with_tiers(db::Database& db);

}  // namespace loyalty::tiers
