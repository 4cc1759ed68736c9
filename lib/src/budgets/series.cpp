// A budget's utilisation over time, from its ledger: the movements of each local bucket, and the
// budget's used and total at each bucket's end, in one statement (one snapshot).
#include "budgets/budget_rows.hpp"
#include "catalog/refs.hpp"

#include <loyalty/budgets/budgets.hpp>
#include <loyalty/core/error.hpp>

#include <chrono>
#include <cmath>
#include <regex>

namespace loyalty::budgets {

namespace {

namespace chr = std::chrono;

const db::Query kTenantDay{"budget_series_tenant", R"sql(
SELECT timezone, (app_now() AT TIME ZONE timezone)::date::text AS today
  FROM tenants WHERE id = $1::uuid
)sql"};

const std::string kBudgetSql = std::string("SELECT ") + kBudgetColumns +
                               " FROM budgets b WHERE b.tenant_id = $1::uuid AND b.id = $2::uuid";
const db::Query kBudget{"budget_series_budget", kBudgetSql.c_str()};

// $1 tenant, $2 budget, $3 time zone, $4 interval (day | week | month), $5 from, $6 to (dates).
// k: the buckets, each clipped to the period [lo, hi). m: the budget's movements from the
// earliest instant a figure needs, each with what it changed of used (reserved + utilized +
// spent; a rollover's closing of a past period is not a change of the current one) and of the
// total (funding given less what periods closed). The used and total at an instant T come from
// running sums over the movements and the instants, in time order (an instant before a movement
// of the same time, which it does not include): a budget without periods used at T what it uses
// now less what moved since; a periodic one what moved from the start of the period holding T up
// to T. The total at T is today's less what changed it since.
const db::Query kSeries{"budget_series", R"sql(
WITH b AS (
  SELECT x.period, x.reserved_minor + x.utilized_minor + x.spent_minor AS used_now,
         x.total_minor AS total_now
    FROM budgets x WHERE x.tenant_id = $1::uuid AND x.id = $2::uuid),
k AS (
  SELECT row_number() OVER (ORDER BY g) AS n, g::date AS start,
         greatest(g AT TIME ZONE $3, $5::date::timestamp AT TIME ZONE $3) AS lo,
         least((g + ('1 ' || $4)::interval) AT TIME ZONE $3,
               ($6::date + 1)::timestamp AT TIME ZONE $3) AS hi
    FROM generate_series(date_trunc($4, $5::date::timestamp), $6::date::timestamp,
                         ('1 ' || $4)::interval) g),
p AS (
  SELECT k.n, k.hi, budget_period_start(b.period, $3, k.hi - interval '1 microsecond') AS since
    FROM k, b),
m AS (
  SELECT l.created_at AS at, l.kind, l.amount_minor AS amount,
         CASE WHEN l.kind = 'rollover' THEN 0
              ELSE (CASE WHEN l.credit_account IN ('reserved', 'utilized', 'spent')
                         THEN l.amount_minor ELSE 0 END)
                 - (CASE WHEN l.debit_account IN ('reserved', 'utilized', 'spent')
                         THEN l.amount_minor ELSE 0 END) END AS used,
         (CASE WHEN l.debit_account = 'funding' THEN l.amount_minor ELSE 0 END)
           - (CASE WHEN l.credit_account = 'closed' THEN l.amount_minor ELSE 0 END) AS total
    FROM ledger_movements l
   WHERE l.tenant_id = $1::uuid AND l.budget_id = $2::uuid
     AND l.created_at >= (SELECT least(min(k.lo), min(p.since)) FROM k, p)),
a AS (SELECT coalesce(sum(m.used), 0) AS used, coalesce(sum(m.total), 0) AS total FROM m),
s AS (
  SELECT m.at, 1 AS o, m.used, m.total, NULL::bigint AS n, NULL::text AS what FROM m
  UNION ALL SELECT p.hi, 0, 0, 0, p.n, 'end' FROM p
  UNION ALL SELECT p.since, 0, 0, 0, p.n, 'since' FROM p WHERE p.since IS NOT NULL),
c AS (
  SELECT s.n, s.what, sum(s.used) OVER w AS used, sum(s.total) OVER w AS total FROM s
  WINDOW w AS (ORDER BY s.at, s.o ROWS UNBOUNDED PRECEDING)),
f AS (
  SELECT date_trunc($4, m.at AT TIME ZONE $3)::date AS start,
         coalesce(sum(m.amount) FILTER (WHERE m.kind = 'topup'), 0) AS topped_up,
         coalesce(sum(m.amount) FILTER (WHERE m.kind = 'reserve'), 0) AS reserved,
         coalesce(sum(m.amount) FILTER (WHERE m.kind = 'charge'), 0) AS committed,
         coalesce(sum(m.amount) FILTER (WHERE m.kind = 'spend'), 0) AS spent,
         coalesce(sum(m.amount) FILTER (WHERE m.kind = 'release'), 0) AS released
    FROM m
   WHERE m.at >= $5::date::timestamp AT TIME ZONE $3
     AND m.at < ($6::date + 1)::timestamp AT TIME ZONE $3
   GROUP BY 1)
SELECT k.start::text AS bucket,
       coalesce(f.topped_up, 0)::bigint AS topped_up, coalesce(f.reserved, 0)::bigint AS reserved,
       coalesce(f.committed, 0)::bigint AS committed, coalesce(f.spent, 0)::bigint AS spent,
       coalesce(f.released, 0)::bigint AS released,
       (CASE WHEN b.period = 'none' THEN b.used_now - (a.used - e.used)
             ELSE e.used - coalesce(q.used, 0) END)::bigint AS used,
       (b.total_now - (a.total - e.total))::bigint AS total
  FROM k CROSS JOIN b CROSS JOIN a
  JOIN c e ON e.n = k.n AND e.what = 'end'
  LEFT JOIN c q ON q.n = k.n AND q.what = 'since'
  LEFT JOIN f ON f.start = k.start
 ORDER BY k.n
)sql"};

constexpr int kMaxPeriodDays = 1096;
constexpr int kMaxDayBuckets = 400;

std::optional<chr::sys_days> parse_day(const std::string& text) {
  static const std::regex kDate(R"(^([0-9]{4})-([0-9]{2})-([0-9]{2})$)");
  std::smatch m;
  if (!std::regex_match(text, m, kDate)) return std::nullopt;
  chr::year_month_day ymd{chr::year(std::stoi(m[1])), chr::month(std::stoul(m[2])),
                          chr::day(std::stoul(m[3]))};
  if (!ymd.ok()) return std::nullopt;
  return chr::sys_days(ymd);
}

std::string format_day(chr::sys_days day) {
  chr::year_month_day ymd(day);
  char out[16];
  std::snprintf(out, sizeof out, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return out;
}

nlohmann::json rate_json(MinorUnits used, MinorUnits total) {
  if (total <= 0) return nullptr;
  return std::round(static_cast<double>(used) / static_cast<double>(total) * 10000.0) / 10000.0;
}

}  // namespace

BudgetSeries budget_series(db::Database& database, const std::string& tenant_id,
                           const std::string& budget_id_or_name, const SeriesRequest& req) {
  std::vector<FieldError> errors;
  const std::string interval = req.interval.empty() ? "day" : req.interval;
  if (interval != "day" && interval != "week" && interval != "month") {
    errors.push_back({"/interval", "must be day, week or month"});
  }
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto id = catalog::require_id(tx, tenant_id, catalog::Entity::budget, budget_id_or_name);
    auto t = tx.exec(kTenantDay, tenant_id);
    if (t.empty()) throw_not_found("tenant");
    const auto today = *parse_day(t[0]["today"].as<std::string>());
    std::optional<chr::sys_days> from, to = today;
    if (!req.to.empty() && !(to = parse_day(req.to))) {
      errors.push_back({"/to", "must be a date such as 2026-11-30"});
    }
    if (!req.from.empty() && !(from = parse_day(req.from))) {
      errors.push_back({"/from", "must be a date such as 2026-11-01"});
    }
    if (req.from.empty() && to) from = *to - chr::days(29);
    if (from && to) {
      const auto days = (*to - *from).count() + 1;
      if (*from > *to) {
        errors.push_back({"/from", "must not be after to"});
      } else if (days > kMaxPeriodDays) {
        errors.push_back({"/to", "the period is at most 1096 days"});
      } else if (interval == "day" && days > kMaxDayBuckets) {
        errors.push_back({"/interval", "day buckets cover at most 400 days: use week or month"});
      }
    }
    if (!errors.empty()) throw_invalid("the series request is not valid", errors);
    BudgetSeries out;
    out.budget = row_to_budget(tx.exec1(kBudget, tenant_id, id));
    out.interval = interval;
    out.timezone = t[0]["timezone"].as<std::string>();
    out.from = format_day(*from);
    out.to = format_day(*to);
    for (const auto& r :
         tx.exec(kSeries, tenant_id, id, out.timezone, interval, out.from, out.to)) {
      out.buckets.push_back({r["bucket"].as<std::string>(), r["topped_up"].as<MinorUnits>(),
                             r["reserved"].as<MinorUnits>(), r["committed"].as<MinorUnits>(),
                             r["spent"].as<MinorUnits>(), r["released"].as<MinorUnits>(),
                             r["used"].as<MinorUnits>(), r["total"].as<MinorUnits>()});
    }
    return out;
  });
}

nlohmann::json to_json(const BudgetSeries& s) {
  auto buckets = nlohmann::json::array();
  SeriesBucket sum;
  for (const auto& b : s.buckets) {
    buckets.push_back({{"start", b.start},
                       {"topped_up", format_amount(b.topped_up)},
                       {"reserved", format_amount(b.reserved)},
                       {"committed", format_amount(b.committed)},
                       {"spent", format_amount(b.spent)},
                       {"released", format_amount(b.released)},
                       {"used", format_amount(b.used)},
                       {"total", format_amount(b.total)},
                       {"utilisation", rate_json(b.used, b.total)}});
    sum.topped_up = checked_add(sum.topped_up, b.topped_up);
    sum.reserved = checked_add(sum.reserved, b.reserved);
    sum.committed = checked_add(sum.committed, b.committed);
    sum.spent = checked_add(sum.spent, b.spent);
    sum.released = checked_add(sum.released, b.released);
  }
  return {{"budget",
           {{"id", s.budget.id},
            {"name", s.budget.name},
            {"currency", s.budget.currency},
            {"period", s.budget.period}}},
          {"interval", s.interval},
          {"timezone", s.timezone},
          {"from", s.from},
          {"to", s.to},
          {"buckets", buckets},
          {"totals",
           {{"topped_up", format_amount(sum.topped_up)},
            {"reserved", format_amount(sum.reserved)},
            {"committed", format_amount(sum.committed)},
            {"spent", format_amount(sum.spent)},
            {"released", format_amount(sum.released)}}}};
}

}  // namespace loyalty::budgets
