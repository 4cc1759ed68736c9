#pragma once
// How a tenant's programme performs: the figures of a period against the previous period of the
// same length, and time series of events, issuances, redemptions and points in buckets of the
// tenant's local calendar, optionally broken down by rule, reward, store or channel. Computed in
// SQL over tenant-leading indexes (migration 0120), read-only, in one transaction per call.

#include <loyalty/core/money.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace loyalty::db {
class Database;
}

namespace loyalty::analytics {

/// A period of whole local days of the tenant, both ends included; empty strings take the
/// defaults (to: today in the tenant's time zone; from: 29 days before to, so 30 days).
struct PeriodRequest {
  std::string from;  ///< YYYY-MM-DD
  std::string to;    ///< YYYY-MM-DD
};

/// The figures of one period.
struct PeriodFigures {
  std::string from;                 ///< YYYY-MM-DD, tenant-local, inclusive
  std::string to;                   ///< YYYY-MM-DD, tenant-local, inclusive
  std::int64_t active_members = 0;  ///< distinct customers with an event in the 90 days to `to`
  std::int64_t enrolments = 0;      ///< customers enrolled in the period
  std::int64_t events = 0;          ///< events that occurred in the period
  std::int64_t issuances = 0;       ///< rewards given in the period (cancelled ones not counted)
  std::int64_t redemptions = 0;     ///< issuances redeemed in the period
  /// Of the redeemable (not points) issuances given in the period, the share redeemed since;
  /// none when there were none.
  std::optional<double> redemption_rate;
  std::int64_t points_earned = 0;       ///< points credited in the period
  std::int64_t points_redeemed = 0;     ///< points spent in the period
  std::int64_t points_outstanding = 0;  ///< customers' points at the end of the period
  MinorUnits points_liability = 0;      ///< points_outstanding × the tenant's point value
  MinorUnits budget_committed = 0;      ///< reserved from budgets in the period, net of releases
  /// budget_committed ÷ the total of the tenant's budgets (in its currency); none without any.
  std::optional<double> budget_utilisation;
};

/// The budgets of the tenant's currency as they stand.
struct BudgetSnapshot {
  std::int64_t budgets = 0;
  MinorUnits total = 0;
  MinorUnits used = 0;  ///< reserved + utilized + spent (this period, for periodic budgets)
  std::optional<double> utilisation;  ///< used ÷ total; none when total is 0
};

struct Summary {
  std::string timezone;
  std::string currency;
  MinorUnits point_value = 1;  ///< minor units a point is worth (tenant setting point_value)
  PeriodFigures period;
  PeriodFigures previous;  ///< the same number of days, ending the day before period.from
  BudgetSnapshot budgets;
};

/// The summary of a period and the one before it. Throws Error(invalid) for a date that is not
/// one (pointers /from, /to), from after to, or a period longer than 1,096 days.
Summary summary(db::Database& db, const std::string& tenant_id, const PeriodRequest& period);

/// JSON of a summary: counts as integers, money as {"amount": "12.50", "currency": "USD"},
/// rates as fractions rounded to 4 decimals (null when undefined).
nlohmann::json to_json(const Summary& summary);

struct SeriesRequest {
  std::string metric;    ///< events | issuances | redemptions | points (points earned)
  std::string interval;  ///< day | week (from Monday) | month; empty: day
  std::string by;        ///< empty, or rule | reward | store | channel (events: store, channel)
  PeriodRequest period;
};

/// One line of a series: a group of the breakdown (or the whole, with no breakdown).
struct SeriesLine {
  std::optional<std::string> key;    ///< rule/reward id, store, channel; none: not recorded
  std::string label;                 ///< rule or reward name, the store or channel itself
  std::vector<std::int64_t> values;  ///< one per bucket
  std::int64_t total = 0;
  bool other = false;  ///< the groups past the largest nine, summed
};

struct Series {
  std::string metric;
  std::string interval;
  std::string by;
  std::string timezone;
  std::string from;
  std::string to;
  std::vector<std::string> buckets;  ///< each bucket's first local day, YYYY-MM-DD
  std::vector<SeriesLine> lines;     ///< largest total first; at most 10, the rest as "other"
  std::vector<std::int64_t> totals;  ///< per bucket, over all lines
};

/// A time series in buckets of the tenant's local calendar, every bucket of the period present
/// (zero when nothing happened). Throws Error(invalid) for an unknown metric, interval or
/// breakdown, a breakdown the metric has not (events by rule), bad dates as summary(), or day
/// buckets over more than 400 days.
Series series(db::Database& db, const std::string& tenant_id, const SeriesRequest& request);

nlohmann::json to_json(const Series& series);

}  // namespace loyalty::analytics
