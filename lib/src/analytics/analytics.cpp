// The dashboard's figures: a period's summary against the previous one, and time series in the
// tenant's local buckets. Every figure is a range scan of a tenant-leading index (migration 0120);
// local days become instants in SQL (GCC 12 has no time zone database), buckets are local dates.
#include "db/tx.hpp"

#include <loyalty/analytics/analytics.hpp>
#include <loyalty/core/error.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <regex>

namespace loyalty::analytics {

namespace {

namespace chr = std::chrono;

constexpr int kMaxPeriodDays = 1096;
constexpr int kMaxDayBuckets = 400;
constexpr std::size_t kMaxLines = 10;

const db::Query kTenant{"analytics_tenant", R"sql(
SELECT timezone, currency, coalesce(settings->>'point_value', '') AS point_value,
       (app_now() AT TIME ZONE timezone)::date::text AS today
  FROM tenants WHERE id = $1::uuid
)sql"};

// A period's local days as instants: [lo, hi), and the start of the 90 days that end at hi.
const db::Query kBounds{"analytics_bounds", R"sql(
SELECT ($2::date::timestamp AT TIME ZONE $1)::text AS lo,
       (($3::date + 1)::timestamp AT TIME ZONE $1)::text AS hi,
       (($3::date + 1 - 90)::timestamp AT TIME ZONE $1)::text AS active_lo
)sql"};

// The customers' points now (the sum of their balances, pending points included: the ledger's
// movements below move both).
const db::Query kPointsNow{"analytics_points_now", R"sql(
SELECT coalesce(sum(points_balance + points_pending), 0)::bigint AS points FROM customers
 WHERE tenant_id = $1::uuid
)sql"};

// $2 = lo, $3 = hi, $4 = active_lo, $5 = the tenant's currency, $6 = the points now. Points
// outstanding at hi are today's less what moved since (a scan of the recent ledger, not of all of
// it). The active members (customers with an event in the 90 days to hi) come from one scan of
// those 90 days grouped by customer (a hash of them, where count(DISTINCT) would sort them all),
// which counts the period's events in them too; a period longer than 90 days counts its earlier
// events by a plain scan of the index, which costs less than passing them through the hash.
const db::Query kPeriod{"analytics_period", R"sql(
SELECT a.active_members,
       (SELECT count(*) FROM customers c
         WHERE c.tenant_id = $1::uuid AND c.enrolled_at >= $2::timestamptz
           AND c.enrolled_at < $3::timestamptz) AS enrolments,
       a.events,
       i.issuances, i.redeemable, i.redeemed,
       (SELECT count(*) FROM issuances r
         WHERE r.tenant_id = $1::uuid AND r.redeemed_at >= $2::timestamptz
           AND r.redeemed_at < $3::timestamptz) AS redemptions,
       p.earned, p.spent,
       ($6::bigint - (SELECT coalesce(sum(l.points), 0) FROM points_ledger l
                       WHERE l.tenant_id = $1::uuid AND l.created_at >= $3::timestamptz))::bigint
         AS points_outstanding,
       m.committed
  FROM (SELECT count(*) FILTER (WHERE w.customer_id IS NOT NULL) AS active_members,
               (coalesce(sum(w.events), 0)
                + (SELECT count(*) FROM events o
                    WHERE o.tenant_id = $1::uuid AND o.occurred_at >= $2::timestamptz
                      AND o.occurred_at < $4::timestamptz))::bigint AS events
          FROM (SELECT e.customer_id,
                       count(*) FILTER (WHERE e.occurred_at >= $2::timestamptz) AS events
                  FROM events e
                 WHERE e.tenant_id = $1::uuid AND e.occurred_at >= $4::timestamptz
                   AND e.occurred_at < $3::timestamptz
                 GROUP BY e.customer_id) w) a,
       (SELECT count(*) FILTER (WHERE x.cancelled_at IS NULL) AS issuances,
               count(*) FILTER (WHERE x.cancelled_at IS NULL AND x.points IS NULL) AS redeemable,
               count(*) FILTER (WHERE x.redeemed_at IS NOT NULL AND x.points IS NULL) AS redeemed
          FROM issuances x
         WHERE x.tenant_id = $1::uuid AND x.created_at >= $2::timestamptz
           AND x.created_at < $3::timestamptz) i,
       (SELECT coalesce(sum(l.points) FILTER (WHERE l.kind = 'earn'), 0)::bigint AS earned,
               coalesce(-sum(l.points) FILTER (WHERE l.kind = 'redeem'), 0)::bigint AS spent
          FROM points_ledger l
         WHERE l.tenant_id = $1::uuid AND l.created_at >= $2::timestamptz
           AND l.created_at < $3::timestamptz) p,
       (SELECT (coalesce(sum(g.amount_minor) FILTER (WHERE g.kind = 'reserve'), 0)
                - coalesce(sum(g.amount_minor) FILTER (WHERE g.kind = 'release'), 0))::bigint
                 AS committed
          FROM ledger_movements g
         WHERE g.tenant_id = $1::uuid AND g.created_at >= $2::timestamptz
           AND g.created_at < $3::timestamptz AND g.currency = $5) m
)sql"};

const db::Query kBudgets{"analytics_budgets", R"sql(
SELECT count(*) AS budgets, coalesce(sum(total_minor), 0)::bigint AS total,
       coalesce(sum(reserved_minor + utilized_minor + spent_minor), 0)::bigint AS used
  FROM budgets WHERE tenant_id = $1::uuid AND currency = $2
)sql"};

/// A local date, or none when `text` is not YYYY-MM-DD of a real day.
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

struct TenantFacts {
  std::string timezone;
  std::string currency;
  MinorUnits point_value = 1;
  chr::sys_days today;
};

TenantFacts tenant_facts(db::Tx& tx, const std::string& tenant_id) {
  auto rows = tx.exec(kTenant, tenant_id);
  if (rows.empty()) throw_not_found("tenant");
  TenantFacts out;
  out.timezone = rows[0]["timezone"].as<std::string>();
  out.currency = rows[0]["currency"].as<std::string>();
  auto value = rows[0]["point_value"].as<std::string>();
  if (!value.empty()) {
    try {
      out.point_value = std::max<MinorUnits>(0, parse_amount(value));
    } catch (const Error&) {
      out.point_value = 1;
    }
  }
  out.today = *parse_day(rows[0]["today"].as<std::string>());
  return out;
}

struct Days {
  chr::sys_days from;
  chr::sys_days to;
};

/// The period asked for, checked: every problem with its pointer.
Days resolve_period(const PeriodRequest& req, chr::sys_days today,
                    std::vector<FieldError>& errors) {
  Days out{today - chr::days(29), today};
  std::optional<chr::sys_days> from, to;
  if (!req.to.empty()) {
    to = parse_day(req.to);
    if (!to) errors.push_back({"/to", "must be a date such as 2026-11-30"});
  }
  if (!req.from.empty()) {
    from = parse_day(req.from);
    if (!from) errors.push_back({"/from", "must be a date such as 2026-11-01"});
  }
  if ((!req.to.empty() && !to) || (!req.from.empty() && !from)) return out;
  if (to) out.to = *to;
  out.from = from ? *from : out.to - chr::days(29);
  if (out.from > out.to) {
    errors.push_back({"/from", "must not be after to"});
  } else if ((out.to - out.from).count() + 1 > kMaxPeriodDays) {
    errors.push_back({"/to", "the period is at most 1096 days"});
  }
  return out;
}

PeriodFigures period_figures(db::Tx& tx, const std::string& tenant_id, const TenantFacts& t,
                             Days days, std::int64_t points_now) {
  PeriodFigures f;
  f.from = format_day(days.from);
  f.to = format_day(days.to);
  auto b = tx.exec1(kBounds, t.timezone, f.from, f.to);
  auto r = tx.exec1(kPeriod, tenant_id, b["lo"].as<std::string>(), b["hi"].as<std::string>(),
                    b["active_lo"].as<std::string>(), t.currency, points_now);
  f.active_members = r["active_members"].as<std::int64_t>();
  f.enrolments = r["enrolments"].as<std::int64_t>();
  f.events = r["events"].as<std::int64_t>();
  f.issuances = r["issuances"].as<std::int64_t>();
  f.redemptions = r["redemptions"].as<std::int64_t>();
  auto redeemable = r["redeemable"].as<std::int64_t>();
  if (redeemable > 0) {
    f.redemption_rate =
        static_cast<double>(r["redeemed"].as<std::int64_t>()) / static_cast<double>(redeemable);
  }
  f.points_earned = r["earned"].as<std::int64_t>();
  f.points_redeemed = r["spent"].as<std::int64_t>();
  f.points_outstanding = r["points_outstanding"].as<std::int64_t>();
  f.points_liability = checked_mul(f.points_outstanding, t.point_value);
  f.budget_committed = r["committed"].as<MinorUnits>();
  return f;
}

nlohmann::json rate_json(const std::optional<double>& rate) {
  if (!rate) return nullptr;
  return std::round(*rate * 10000.0) / 10000.0;
}

nlohmann::json money_json(MinorUnits amount, const std::string& currency) {
  return {{"amount", format_amount(amount)}, {"currency", currency}};
}

nlohmann::json figures_json(const PeriodFigures& f, const std::string& currency) {
  return {{"from", f.from},
          {"to", f.to},
          {"active_members", f.active_members},
          {"enrolments", f.enrolments},
          {"events", f.events},
          {"issuances", f.issuances},
          {"redemptions", f.redemptions},
          {"redemption_rate", rate_json(f.redemption_rate)},
          {"points_earned", f.points_earned},
          {"points_redeemed", f.points_redeemed},
          {"points_outstanding", f.points_outstanding},
          {"points_liability", money_json(f.points_liability, currency)},
          {"budget_committed", money_json(f.budget_committed, currency)},
          {"budget_utilisation", rate_json(f.budget_utilisation)}};
}

// ---- series ----

struct SeriesSource {
  std::string from;                ///< the FROM clause with the joins a breakdown needs
  std::string at;                  ///< the instant that places a row in a bucket
  std::string where;               ///< further conditions
  std::string value;               ///< the aggregate
  std::string key = "NULL::text";  ///< the breakdown's key
  std::string label = "''::text";  ///< its label
};

const std::vector<std::string> kMetrics = {"events", "issuances", "redemptions", "points"};
const std::vector<std::string> kIntervals = {"day", "week", "month"};
const std::vector<std::string> kBreakdowns = {"rule", "reward", "store", "channel"};

// Each metric and breakdown is its own statement, so each reads only the columns it needs
// (without a breakdown, events and points are counted from an index alone). Issuances and points
// reach their store and channel through the event that earned them.
SeriesSource source_of(const std::string& metric, const std::string& by) {
  SeriesSource s;
  if (metric == "events") {
    s = {"events e", "e.occurred_at", "", "count(*)"};
  } else if (metric == "points") {
    s = {"points_ledger l", "l.created_at", " AND l.kind = 'earn'", "sum(l.points)::bigint"};
  } else if (metric == "redemptions") {
    s = {"issuances i", "i.redeemed_at", "", "count(*)"};
  } else {
    s = {"issuances i", "i.created_at", " AND i.cancelled_at IS NULL", "count(*)"};
  }
  if (by.empty()) return s;
  const bool points = metric == "points";
  if (by == "store" || by == "channel") {
    s.key = s.label = "e." + by;
    if (points) {
      // A point earned names its event (issuances' earn rows carry it).
      s.from += " LEFT JOIN events e ON e.tenant_id = l.tenant_id AND e.id = l.event_id";
    } else if (metric != "events") {
      s.from += " LEFT JOIN events e ON e.tenant_id = i.tenant_id AND e.id = i.event_id";
    }
    return s;
  }
  if (points) {
    s.from += " LEFT JOIN issuances i ON i.tenant_id = l.tenant_id AND i.id = l.issuance_id";
  }
  const std::string table = by == "rule" ? "rules" : "rewards";
  s.key = "i." + by + "_id::text";
  s.label = "coalesce(n.name, '')";
  s.from += " LEFT JOIN " + table + " n ON n.tenant_id = i.tenant_id AND n.id = i." + by + "_id";
  return s;
}

/// The statement of a metric and breakdown: $1 tenant, $2 lo, $3 hi, $4 interval, $5 time zone.
/// Rows are first counted in 15-minute bins of absolute time (date_bin is arithmetic), and only
/// the bins are placed in local buckets: converting every row to local time cost a third of a
/// year's series. Every time zone's offset is a whole number of quarter hours.
const db::Query& series_query(const std::string& metric, const std::string& by) {
  struct Prepared {
    std::string name;
    std::string sql;
    db::Query query;
  };
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<Prepared>> prepared;
  std::lock_guard lock(mutex);
  auto& slot = prepared[metric + "/" + by];
  if (!slot) {
    auto s = source_of(metric, by);
    auto alias = s.at.substr(0, 1);
    slot = std::make_unique<Prepared>();
    slot->name = "analytics_series_" + metric + (by.empty() ? "" : "_by_" + by);
    slot->sql =
        "SELECT date_trunc($4, b AT TIME ZONE $5)::date::text AS bucket, key, label, "
        "sum(n)::bigint AS value FROM (SELECT date_bin('15 minutes', " +
        s.at + ", timestamptz 'epoch') AS b, " + s.key + " AS key, " + s.label + " AS label, " +
        s.value + " AS n FROM " + s.from + " WHERE " + alias + ".tenant_id = $1::uuid AND " + s.at +
        " >= $2::timestamptz AND " + s.at + " < $3::timestamptz" + s.where +
        " GROUP BY 1, 2, 3) q GROUP BY 1, 2, 3";
    slot->query = db::Query{slot->name.c_str(), slot->sql.c_str()};
  }
  return slot->query;
}

/// Each bucket's first local day, from the one holding `from` to the one holding `to`.
std::vector<std::string> bucket_starts(const std::string& interval, Days days) {
  std::vector<std::string> out;
  auto start = days.from;
  if (interval == "week") {
    start -= chr::days(chr::weekday(start).iso_encoding() - 1);
  } else if (interval == "month") {
    chr::year_month_day ymd(start);
    start = chr::sys_days(ymd.year() / ymd.month() / 1);
  }
  for (auto at = start; at <= days.to;) {
    out.push_back(format_day(at));
    if (interval == "day") {
      at += chr::days(1);
    } else if (interval == "week") {
      at += chr::days(7);
    } else {
      chr::year_month_day ymd(at);
      at = chr::sys_days((ymd.year() / ymd.month() + chr::months(1)) / 1);
    }
  }
  return out;
}

bool one_of(const std::vector<std::string>& allowed, const std::string& value) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

}  // namespace

Summary summary(db::Database& database, const std::string& tenant_id, const PeriodRequest& period) {
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto t = tenant_facts(tx, tenant_id);
    std::vector<FieldError> errors;
    auto days = resolve_period(period, t.today, errors);
    if (!errors.empty()) throw_invalid("the period is not valid", errors);
    Summary out;
    out.timezone = t.timezone;
    out.currency = t.currency;
    out.point_value = t.point_value;
    auto length = days.to - days.from + chr::days(1);
    auto points_now = tx.exec1(kPointsNow, tenant_id)["points"].as<std::int64_t>();
    out.period = period_figures(tx, tenant_id, t, days, points_now);
    out.previous = period_figures(tx, tenant_id, t, {days.from - length, days.from - chr::days(1)},
                                  points_now);
    auto b = tx.exec1(kBudgets, tenant_id, t.currency);
    out.budgets.budgets = b["budgets"].as<std::int64_t>();
    out.budgets.total = b["total"].as<MinorUnits>();
    out.budgets.used = b["used"].as<MinorUnits>();
    if (out.budgets.total > 0) {
      auto total = static_cast<double>(out.budgets.total);
      out.budgets.utilisation = static_cast<double>(out.budgets.used) / total;
      out.period.budget_utilisation = static_cast<double>(out.period.budget_committed) / total;
      out.previous.budget_utilisation = static_cast<double>(out.previous.budget_committed) / total;
    }
    return out;
  });
}

nlohmann::json to_json(const Summary& s) {
  return {{"timezone", s.timezone},
          {"currency", s.currency},
          {"point_value", money_json(s.point_value, s.currency)},
          {"period", figures_json(s.period, s.currency)},
          {"previous", figures_json(s.previous, s.currency)},
          {"budgets",
           {{"budgets", s.budgets.budgets},
            {"total", money_json(s.budgets.total, s.currency)},
            {"used", money_json(s.budgets.used, s.currency)},
            {"utilisation", rate_json(s.budgets.utilisation)}}}};
}

Series series(db::Database& database, const std::string& tenant_id, const SeriesRequest& req) {
  std::vector<FieldError> errors;
  const std::string interval = req.interval.empty() ? "day" : req.interval;
  if (req.metric.empty()) {
    errors.push_back({"/metric", "is required: events, issuances, redemptions or points"});
  } else if (!one_of(kMetrics, req.metric)) {
    errors.push_back({"/metric", "must be events, issuances, redemptions or points"});
  }
  if (!one_of(kIntervals, interval)) {
    errors.push_back({"/interval", "must be day, week or month"});
  }
  if (!req.by.empty() && !one_of(kBreakdowns, req.by)) {
    errors.push_back({"/by", "must be rule, reward, store or channel"});
  } else if (req.metric == "events" && (req.by == "rule" || req.by == "reward")) {
    errors.push_back({"/by", "events have no rule or reward: break them down by store or channel"});
  }
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto t = tenant_facts(tx, tenant_id);
    auto days = resolve_period(req.period, t.today, errors);
    if (errors.empty() && interval == "day" && (days.to - days.from).count() + 1 > kMaxDayBuckets) {
      errors.push_back({"/interval", "day buckets cover at most 400 days: use week or month"});
    }
    if (!errors.empty()) throw_invalid("the series request is not valid", errors);
    Series out;
    out.metric = req.metric;
    out.interval = interval;
    out.by = req.by;
    out.timezone = t.timezone;
    out.from = format_day(days.from);
    out.to = format_day(days.to);
    out.buckets = bucket_starts(interval, days);
    out.totals.assign(out.buckets.size(), 0);
    std::map<std::string, std::size_t> bucket_index;
    for (std::size_t i = 0; i < out.buckets.size(); ++i) bucket_index[out.buckets[i]] = i;

    auto b = tx.exec1(kBounds, t.timezone, out.from, out.to);
    auto rows = tx.exec(series_query(req.metric, req.by), tenant_id, b["lo"].as<std::string>(),
                        b["hi"].as<std::string>(), interval, t.timezone);
    std::map<std::optional<std::string>, SeriesLine> lines;
    for (const auto& r : rows) {
      auto at = bucket_index.find(r["bucket"].as<std::string>());
      if (at == bucket_index.end()) continue;
      std::optional<std::string> key;
      if (!r["key"].is_null()) key = r["key"].as<std::string>();
      auto& line = lines[key];
      if (line.values.empty()) {
        line.key = key;
        auto label = r["label"].is_null() ? std::string() : r["label"].as<std::string>();
        line.label = label.empty() ? (req.by.empty() ? req.metric : "(none)") : label;
        line.values.assign(out.buckets.size(), 0);
      }
      auto value = r["value"].as<std::int64_t>();
      line.values[at->second] = checked_add(line.values[at->second], value);
      line.total = checked_add(line.total, value);
      out.totals[at->second] = checked_add(out.totals[at->second], value);
    }
    for (auto& [key, line] : lines) out.lines.push_back(std::move(line));
    std::sort(out.lines.begin(), out.lines.end(), [](const SeriesLine& a, const SeriesLine& b) {
      return a.total != b.total ? a.total > b.total : a.label < b.label;
    });
    if (out.lines.size() > kMaxLines) {
      SeriesLine other;
      other.label = "other";
      other.other = true;
      other.values.assign(out.buckets.size(), 0);
      for (std::size_t i = kMaxLines - 1; i < out.lines.size(); ++i) {
        for (std::size_t j = 0; j < other.values.size(); ++j) {
          other.values[j] = checked_add(other.values[j], out.lines[i].values[j]);
        }
        other.total = checked_add(other.total, out.lines[i].total);
      }
      out.lines.resize(kMaxLines - 1);
      out.lines.push_back(std::move(other));
    }
    if (out.lines.empty() && req.by.empty()) {
      SeriesLine all;
      all.label = req.metric;
      all.values.assign(out.buckets.size(), 0);
      out.lines.push_back(std::move(all));
    }
    return out;
  });
}

nlohmann::json to_json(const Series& s) {
  auto lines = nlohmann::json::array();
  for (const auto& l : s.lines) {
    lines.push_back({{"key", l.key ? nlohmann::json(*l.key) : nlohmann::json()},
                     {"label", l.label},
                     {"other", l.other},
                     {"values", l.values},
                     {"total", l.total}});
  }
  return {{"metric", s.metric},
          {"interval", s.interval},
          {"by", s.by.empty() ? nlohmann::json() : nlohmann::json(s.by)},
          {"timezone", s.timezone},
          {"from", s.from},
          {"to", s.to},
          {"buckets", s.buckets},
          {"lines", lines},
          {"totals", s.totals}};
}

}  // namespace loyalty::analytics
