#pragma once
// Budgets: what a tenant is willing to give away, with counters kept by a double-entry ledger.
//
// A budget has a currency, a total and three counters — reserved (promised to issuances not yet
// issued), utilized (issued) and spent (redeemed). A hard-capped budget never lets
// reserved + utilized + spent exceed total, by one cent, under any concurrency: the database
// enforces it (conditional UPDATE and a CHECK constraint). Periodic budgets (daily, weekly,
// monthly on the tenant's local calendar) start every period with zero counters; the rollover is
// recorded in the ledger. Crossing the soft-cap threshold queues one `budget.threshold` webhook
// per period.

#include <loyalty/core/actor.hpp>
#include <loyalty/core/money.hpp>
#include <loyalty/core/page.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace loyalty::db {
class Database;
}

namespace loyalty::budgets {

struct Budget {
  std::string id;
  std::string name;
  std::string currency;
  MinorUnits total = 0;
  MinorUnits reserved = 0;
  MinorUnits utilized = 0;
  MinorUnits spent = 0;
  bool hard_cap = true;
  std::optional<std::string> soft_cap_threshold;  ///< a fraction as text, e.g. "0.8"
  std::string period = "none";                    ///< none | daily | weekly | monthly
  std::optional<std::string> period_start;        ///< RFC 3339 UTC; none for period "none"
  std::string created_at;
  std::string updated_at;

  /// total - reserved - utilized - spent; Error(invalid, "amount-out-of-range") should the
  /// counters not fit in 64 bits.
  MinorUnits available() const {
    return checked_sub(checked_sub(checked_sub(total, reserved), utilized), spent);
  }
};

/// JSON of a budget as the CLI and API show it; amounts as decimal strings.
nlohmann::json to_json(const Budget& budget);

/// Creates a budget from its fields: `name` (required, unique in the tenant), `currency`
/// (required, USD|ZWG), `total` (decimal string, default "0"; recorded as a funding movement),
/// `hard_cap` (default true), `period` (none|daily|weekly|monthly, default none),
/// `soft_cap_threshold` (a fraction in (0, 1], as a number or string; optional).
/// Throws Error(invalid) listing every bad field by JSON pointer, Error(conflict) for a name
/// already used. Writes an audit row.
Budget create_budget(db::Database& db, const std::string& tenant_id, const Actor& actor,
                     const nlohmann::json& fields);

/// The budget with this id or name, rolled into the current period if one has ended.
/// Throws Error(not_found).
Budget get_budget(db::Database& db, const std::string& tenant_id, const std::string& id_or_name);

/// One page of the tenant's budgets in name order (periodic ones rolled to the current period).
Page<Budget> list_budgets(db::Database& db, const std::string& tenant_id, const PageRequest& page);

struct TopupResult {
  Budget budget;
  std::int64_t movement_id = 0;
  MinorUnits amount = 0;
  bool replayed = false;  ///< the reference was used before with this amount: nothing changed
};

/// Adds `amount` (a decimal string > 0) to a budget's total, idempotent by `reference`: the same
/// reference with the same amount answers the original movement (replayed = true) and changes
/// nothing; with another amount it throws Error(conflict, "topup-reference-conflict").
/// Concurrent top-ups with one reference make one movement. Throws Error(invalid) for a bad
/// amount or reference, Error(not_found) for an unknown budget. Audited.
TopupResult topup_budget(db::Database& db, const std::string& tenant_id, const Actor& actor,
                         const std::string& budget_id_or_name, const std::string& amount,
                         const std::string& reference);

/// One ledger movement: `amount` moved from `debit_account` to `credit_account` of a budget.
struct Movement {
  std::int64_t id = 0;
  std::string budget_id;
  std::string budget_name;
  std::string kind;  ///< topup | reserve | release | charge | spend | rollover | adjustment
  std::string debit_account;
  std::string credit_account;
  MinorUnits amount = 0;
  std::string currency;
  std::optional<std::string> issuance_id;
  std::optional<std::string> reference;
  std::optional<std::string> period_start;
  std::optional<std::string> actor;
  std::string created_at;
};

nlohmann::json to_json(const Movement& movement);

/// Filters of a ledger listing or export; empty strings mean "any".
struct LedgerFilter {
  std::string budget;  ///< id or name
  std::string kind;    ///< one of the movement kinds
  std::string from;    ///< a date (YYYY-MM-DD, tenant-local, inclusive) or RFC 3339 date-time
  std::string to;      ///< a date (inclusive) or RFC 3339 date-time (exclusive)
};

/// One page of the tenant's ledger, newest first. Throws Error(invalid) for bad filters (pointers
/// /budget, /type, /from, /to), Error(not_found) for an unknown budget.
Page<Movement> list_ledger(db::Database& db, const std::string& tenant_id,
                           const LedgerFilter& filter, const PageRequest& page);

enum class ExportFormat { csv, jsonl };

/// Streams the tenant's ledger (oldest first) to `out` through COPY ... TO STDOUT, without
/// holding it in memory: RFC 4180 CSV with a header row (CRLF line ends) or one JSON object per
/// line; amounts as decimal strings. Returns the number of movements written.
std::int64_t export_ledger(db::Database& db, const std::string& tenant_id,
                           const LedgerFilter& filter, ExportFormat format, std::ostream& out);

/// A budget's utilisation over time: what moved in each bucket of the tenant's local calendar,
/// and where the budget stood at the bucket's end.
struct SeriesRequest {
  std::string interval;  ///< day | week (from Monday) | month; empty: day
  std::string from;      ///< YYYY-MM-DD, tenant-local, inclusive; empty: 29 days before `to`
  std::string to;        ///< YYYY-MM-DD, inclusive; empty: today in the tenant's time zone
};

struct SeriesBucket {
  std::string start;         ///< the bucket's first local day, YYYY-MM-DD
  MinorUnits topped_up = 0;  ///< topup movements (the initial total included)
  MinorUnits reserved = 0;   ///< reserve: promised to issuances
  MinorUnits committed = 0;  ///< charge: reserved -> utilized, when an issuance is issued
  MinorUnits spent = 0;      ///< spend: utilized -> spent, when it is redeemed
  MinorUnits released = 0;   ///< release: back to available (cancelled, failed, expired)
  /// At the bucket's end (or now, for a bucket not over yet): reserved + utilized + spent of the
  /// period then current (a periodic budget's counters start each period at zero), and the total.
  MinorUnits used = 0;
  MinorUnits total = 0;
};

struct BudgetSeries {
  Budget budget;
  std::string interval;
  std::string timezone;
  std::string from;
  std::string to;
  std::vector<SeriesBucket> buckets;  ///< every bucket of the period, zeros included
};

/// The series of one budget (id or name), computed in SQL from its ledger in one statement.
/// Movements are counted from `from` to `to`; a week or month bucket starts on its first day even
/// when that is before `from`. Throws Error(not_found) for an unknown budget, Error(invalid) for
/// a bad interval (/interval), date (/from, /to), from after to, a period over 1,096 days, or day
/// buckets over more than 400 days.
BudgetSeries budget_series(db::Database& db, const std::string& tenant_id,
                           const std::string& budget_id_or_name, const SeriesRequest& request);

/// JSON of a series: amounts as decimal strings, utilisation (used ÷ total) as a fraction to 4
/// decimals (null when the total is 0).
nlohmann::json to_json(const BudgetSeries& series);

/// One broken invariant.
struct LedgerProblem {
  std::string tenant_id;
  std::string tenant_slug;
  std::string budget_id;  ///< empty for a problem not tied to a budget
  std::string budget_name;
  std::string message;
  std::string customer_id;  ///< set for a customer's points balance (never their phone)
};

struct VerifyReport {
  std::int64_t budgets = 0;
  std::int64_t movements = 0;
  std::int64_t customers = 0;         ///< customers whose points balance was checked
  std::int64_t points_movements = 0;  ///< entries of the points ledger
  std::int64_t points_lots = 0;       ///< lots of points (one per credit)
  std::vector<LedgerProblem> problems;
  bool ok() const { return problems.empty(); }
};

/// Checks the ledger invariants of one tenant, or of every tenant with an empty tenant_id (owner
/// role only): every movement balances (positive amount, two different accounts, the budget's
/// currency); each budget's counters equal its ledger (reserved = balance of 'reserved', and so
/// for utilized and spent; available = total - reserved - utilized - spent; total = what the
/// funding account gave minus what past periods closed); hard caps hold; each top-up record
/// matches its movement; every customer's points balance equals the sum of their points ledger
/// and the sum of what their points lots hold, and each lot holds what its movements sum to.
VerifyReport verify_ledger(db::Database& db, const std::string& tenant_id);

/// A budget's share of its total reserved, utilized or spent (0.25 = a quarter), for /metrics.
struct Utilisation {
  std::string tenant_slug;
  std::string budget_id;
  double ratio = 0;
};
/// The budgets nearest to exhaustion, across tenants.
struct UtilisationTop {
  std::vector<Utilisation> top;  ///< highest first, at most the limit asked for
  long long funded_budgets = 0;  ///< budgets with a total above zero, in all
};

/// The `limit` funded budgets with the highest utilisation, all tenants (a SECURITY DEFINER
/// function, so loyalty_app may call it). A budget whose period has ended counts as unused.
/// Throws Error(unavailable) when the database cannot be reached.
UtilisationTop most_utilised(db::Database& db, int limit);

}  // namespace loyalty::budgets
