// The dashboard's analytics over a seeded tenant: a period's summary against the previous one and
// time series in the tenant's local buckets, with exact figures, and clear problems for bad
// parameters.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>

using loyalty::test::Api;
using loyalty::test::Daemon;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

/// A local date of the tenant's zone (Africa/Harare), `days` from today.
std::string local_day(TestDatabase& db, int days) {
  return sql_value(db.owner(), "SELECT ((now() AT TIME ZONE 'Africa/Harare')::date + " +
                                   std::to_string(days) + ")::text");
}

struct Seeded {
  loyalty::test::TenantCredentials shop;
  std::string base;
  std::string today, week_ago, two_weeks_ago;  // the period [today-6, today], the one before
};

/// Two weeks of a small shop, every figure known:
/// - previous week: A buys at HRE-01 (10 days ago), B at BYO-02 (9 days ago); A enrolled then;
/// - this week: A visits twice at HRE-01 (pos), B once at BYO-02 (whatsapp), C buys with no
///   store at 00:30 local today (22:30 UTC yesterday). Each visit gives a Coffee (2.50 from the
///   100.00 budget Promo) and 10 points; A's first Coffee is redeemed, B's cancelled.
Seeded seed(TestDatabase& db, Api& api) {
  Seeded s{loyalty::test::seed_tenant(db, api, "shop"), "", "", "", ""};
  s.base = "/v1/tenants/" + s.shop.tenant_id;
  s.today = local_day(db, 0);
  s.week_ago = local_day(db, -6);
  s.two_weeks_ago = local_day(db, -13);
  auto must = [](const loyalty::test::ApiResponse& r, int status) {
    INFO(r.raw);
    REQUIRE(r.status == status);
    return r.body;
  };
  must(api.post(s.base + "/budgets", {{"name", "Promo"}, {"currency", "USD"}, {"total", "100.00"}},
                s.shop.admin_token),
       201);
  must(api.post(s.base + "/reward-catalog",
                {{"name", "Coffee"},
                 {"type", "physical"},
                 {"currency", "USD"},
                 {"cost", "2.50"},
                 {"budget", "Promo"},
                 {"config", {{"stock", 100}}}},
                s.shop.manager_token),
       201);
  must(api.post(s.base + "/reward-catalog",
                {{"name", "10 points"},
                 {"type", "points"},
                 {"currency", "USD"},
                 {"config", {{"points", 10}}}},
                s.shop.manager_token),
       201);
  must(
      api.post(
          s.base + "/rules",
          {{"name", "Visits"}, {"event_type", "visit"}, {"conditions", true}, {"reward", "Coffee"}},
          s.shop.manager_token),
      201);
  must(api.post(s.base + "/rules",
                {{"name", "Points on visits"},
                 {"event_type", "visit"},
                 {"conditions", true},
                 {"reward", "10 points"}},
                s.shop.manager_token),
       201);
  int n = 0;
  auto post = [&](const std::string& phone, const std::string& type, const json& data,
                  const std::string& occurred_at) {
    json body{{"customer", {{"phone", phone}}},
              {"type", type},
              {"data", data},
              {"idempotency_key", "seed-" + std::to_string(++n)}};
    if (!occurred_at.empty()) body["occurred_at"] = occurred_at;
    return must(api.post(s.base + "/events", body, s.shop.pos_key), 201);
  };
  const std::string a = "+263771111111", b = "+263772222222", c = "+263773333333";
  post(a, "purchase", {{"store", "HRE-01"}}, local_day(db, -10) + "T12:00:00+02:00");
  post(b, "purchase", {{"store", "BYO-02"}}, local_day(db, -9) + "T12:00:00+02:00");
  auto first = post(a, "visit", {{"store", "HRE-01"}, {"channel", "pos"}}, "");
  post(a, "visit", {{"store", "HRE-01"}, {"channel", "pos"}}, "");
  auto third = post(b, "visit", {{"store", "BYO-02"}, {"channel", "whatsapp"}}, "");
  post(c, "purchase", json::object(), local_day(db, -1) + "T22:30:00Z");
  sql_value(db.owner(), "UPDATE customers SET enrolled_at = '" + local_day(db, -10) +
                            "T11:00:00+02:00' WHERE phone = '" + a + "'");
  REQUIRE(loyalty::test::wait_for_value(
              db.owner(), "SELECT count(*) FROM issuances WHERE state = 'issued'", "6") == "6");
  auto coffee = [](const json& answer) {
    for (const auto& i : answer["issuances"]) {
      if (i["reward"]["name"] == "Coffee") return i["id"].get<std::string>();
    }
    return std::string();
  };
  must(api.post(s.base + "/issuances/" + coffee(first) + "/redeem", json::object(), s.shop.pos_key),
       200);
  must(api.post(s.base + "/issuances/" + coffee(third) + "/cancel", {{"reason", "test"}},
                s.shop.manager_token),
       200);
  return s;
}

json figures(const json& period) {
  json out = period;
  out.erase("from");
  out.erase("to");
  return out;
}

}  // namespace

TEST_CASE(
    "analytics: the summary of a week against the week before on a seeded shop, exact to the "
    "member, the point and the cent",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, {"--rate-limit", "0", "--rate-limit-ip", "0", "--workers", "1"});
  Api api(daemon.port());
  auto s = seed(db, api);

  auto r = api.get(s.base + "/analytics/summary?from=" + s.week_ago + "&to=" + s.today,
                   s.shop.viewer_token);
  INFO(r.raw);
  REQUIRE(r.status == 200);
  CHECK(r.body["timezone"] == "Africa/Harare");
  CHECK(r.body["currency"] == "USD");
  CHECK(r.body["point_value"] == json({{"amount", "0.01"}, {"currency", "USD"}}));
  CHECK(r.body["period"]["from"] == s.week_ago);
  CHECK(r.body["period"]["to"] == s.today);
  CHECK(figures(r.body["period"]) ==
        json({{"active_members", 3},
              {"enrolments", 2},
              {"events", 4},
              {"issuances", 5},
              {"redemptions", 1},
              {"redemption_rate", 0.5},
              {"points_earned", 30},
              {"points_redeemed", 0},
              {"points_outstanding", 30},
              {"points_liability", {{"amount", "0.30"}, {"currency", "USD"}}},
              {"budget_committed", {{"amount", "5.00"}, {"currency", "USD"}}},
              {"budget_utilisation", 0.05}}));
  // The seven days before: A and B bought, A enrolled; nothing was given yet.
  CHECK(r.body["previous"]["from"] == s.two_weeks_ago);
  CHECK(r.body["previous"]["to"] == local_day(db, -7));
  CHECK(figures(r.body["previous"]) ==
        json({{"active_members", 2},
              {"enrolments", 1},
              {"events", 2},
              {"issuances", 0},
              {"redemptions", 0},
              {"redemption_rate", nullptr},
              {"points_earned", 0},
              {"points_redeemed", 0},
              {"points_outstanding", 0},
              {"points_liability", {{"amount", "0.00"}, {"currency", "USD"}}},
              {"budget_committed", {{"amount", "0.00"}, {"currency", "USD"}}},
              {"budget_utilisation", 0.0}}));
  // One Coffee redeemed (spent) and one issued (utilized); B's was released.
  CHECK(r.body["budgets"] == json({{"budgets", 1},
                                   {"total", {{"amount", "100.00"}, {"currency", "USD"}}},
                                   {"used", {{"amount", "5.00"}, {"currency", "USD"}}},
                                   {"utilisation", 0.05}}));

  // Without dates: the last 30 days to today, everything seeded inside.
  auto all = api.get(s.base + "/analytics/summary", s.shop.admin_token);
  REQUIRE(all.status == 200);
  CHECK(all.body["period"]["to"] == s.today);
  CHECK(all.body["period"]["from"] == local_day(db, -29));
  CHECK(all.body["period"]["events"] == 6);
  CHECK(all.body["period"]["enrolments"] == 3);
  CHECK(all.body["previous"]["to"] == local_day(db, -30));
  CHECK(all.body["previous"]["events"] == 0);

  // Staff only: a POS key may not read it, another tenant cannot see this one.
  CHECK(api.get(s.base + "/analytics/summary", s.shop.pos_key).status == 403);
  auto other = loyalty::test::seed_tenant(db, api, "other");
  CHECK(api.get(s.base + "/analytics/summary", other.admin_token).status == 404);
  auto theirs = api.get("/v1/tenants/" + other.tenant_id + "/analytics/summary", other.admin_token);
  CHECK(theirs.body["period"]["events"] == 0);
}

TEST_CASE(
    "analytics: series of events, issuances, redemptions and points in local days, weeks and "
    "months, broken down by store, channel, rule and reward",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, {"--rate-limit", "0", "--rate-limit-ip", "0", "--workers", "1"});
  Api api(daemon.port());
  auto s = seed(db, api);
  const std::string range = "&from=" + s.two_weeks_ago + "&to=" + s.today;
  auto get = [&](const std::string& query) {
    auto r = api.get(s.base + "/analytics/series?" + query, s.shop.viewer_token);
    INFO(query << ": " << r.raw);
    REQUIRE(r.status == 200);
    return r.body;
  };

  // Fourteen local days; C's purchase at 22:30 UTC yesterday is today in Harare.
  auto events = get("metric=events" + range);
  REQUIRE(events["buckets"].size() == 14);
  CHECK(events["buckets"][0] == s.two_weeks_ago);
  CHECK(events["buckets"][13] == s.today);
  CHECK(events["interval"] == "day");
  CHECK(events["by"].is_null());
  std::vector<int> want(14, 0);
  want[3] = 1;   // 10 days ago
  want[4] = 1;   // 9 days ago
  want[13] = 4;  // today: three visits and C's purchase
  CHECK(events["totals"] == json(want));
  REQUIRE(events["lines"].size() == 1);
  CHECK(events["lines"][0]["key"].is_null());
  CHECK(events["lines"][0]["values"] == json(want));
  CHECK(events["lines"][0]["total"] == 6);

  auto by_store = get("metric=events&by=store" + range);
  REQUIRE(by_store["lines"].size() == 3);
  CHECK(by_store["lines"][0]["key"] == "HRE-01");
  CHECK(by_store["lines"][0]["total"] == 3);
  CHECK(by_store["lines"][1]["key"] == "BYO-02");
  CHECK(by_store["lines"][1]["total"] == 2);
  CHECK(by_store["lines"][2]["key"].is_null());
  CHECK(by_store["lines"][2]["label"] == "(none)");
  CHECK(by_store["lines"][2]["values"][13] == 1);

  auto issuances = get("metric=issuances&by=rule" + range);
  REQUIRE(issuances["lines"].size() == 2);
  CHECK(issuances["lines"][0]["label"] == "Points on visits");
  CHECK(issuances["lines"][0]["total"] == 3);
  CHECK(issuances["lines"][1]["label"] == "Visits");  // B's Coffee was cancelled
  CHECK(issuances["lines"][1]["total"] == 2);
  CHECK(issuances["lines"][1]["key"] ==
        sql_value(db.owner(), "SELECT id FROM rules WHERE name = 'Visits'"));

  auto redemptions = get("metric=redemptions&by=reward" + range);
  REQUIRE(redemptions["lines"].size() == 1);
  CHECK(redemptions["lines"][0]["label"] == "Coffee");
  CHECK(redemptions["lines"][0]["values"][13] == 1);

  auto points = get("metric=points&by=channel" + range);
  REQUIRE(points["lines"].size() == 2);
  CHECK(points["lines"][0]["key"] == "pos");
  CHECK(points["lines"][0]["total"] == 20);
  CHECK(points["lines"][1]["key"] == "whatsapp");
  CHECK(points["lines"][1]["total"] == 10);
  CHECK(get("metric=issuances&by=store" + range)["lines"][0] ==
        json({{"key", "HRE-01"},
              {"label", "HRE-01"},
              {"other", false},
              {"values", json(std::vector<int>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4})},
              {"total", 4}}));

  // Weeks start on Monday, months on the first: each bucket is its first local day.
  auto weeks = get("metric=events&interval=week" + range);
  CHECK(sql_value(db.owner(), "SELECT extract(isodow FROM '" +
                                  weeks["buckets"][0].get<std::string>() + "'::date)") == "1");
  CHECK(weeks["buckets"][0].get<std::string>() <= s.two_weeks_ago);
  int total = 0;
  for (const auto& v : weeks["totals"]) total += v.get<int>();
  CHECK(total == 6);
  auto months = get("metric=events&interval=month" + range);
  CHECK(months["buckets"][0] == s.two_weeks_ago.substr(0, 8) + "01");
  CHECK(months["totals"].back() == 4);
}

TEST_CASE("analytics: bad parameters are 422 problems naming the parameter", "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, {"--rate-limit", "0", "--rate-limit-ip", "0"});
  Api api(daemon.port());
  auto shop = loyalty::test::seed_tenant(db, api, "shop");
  const std::string base = "/v1/tenants/" + shop.tenant_id + "/analytics/";
  auto problem = [&](const std::string& path) {
    auto r = api.get(base + path, shop.admin_token);
    INFO(path << ": " << r.raw);
    CHECK(r.status == 422);
    CHECK(r.content_type == "application/problem+json");
    REQUIRE(r.body["errors"].size() >= 1);
    return r.body["errors"][0]["pointer"].get<std::string>() + " " +
           r.body["errors"][0]["message"].get<std::string>();
  };
  CHECK(problem("summary?from=2026-02-30") == "/from must be a date such as 2026-11-01");
  CHECK(problem("summary?to=yesterday") == "/to must be a date such as 2026-11-30");
  CHECK(problem("summary?from=2026-11-02&to=2026-11-01") == "/from must not be after to");
  CHECK(problem("summary?from=2020-01-01&to=2026-11-01") == "/to the period is at most 1096 days");
  CHECK(problem("series") == "/metric is required: events, issuances, redemptions or points");
  CHECK(problem("series?metric=visits") ==
        "/metric must be events, issuances, redemptions or points");
  CHECK(problem("series?metric=events&interval=hour") == "/interval must be day, week or month");
  CHECK(problem("series?metric=events&by=customer") ==
        "/by must be rule, reward, store or channel");
  CHECK(problem("series?metric=events&by=rule") ==
        "/by events have no rule or reward: break them down by store or channel");
  CHECK(problem("series?metric=events&from=2024-01-01&to=2026-01-01") ==
        "/interval day buckets cover at most 400 days: use week or month");
  CHECK(api.get(base + "series?metric=events&interval=week&from=2025-01-01&to=2026-01-01",
                shop.admin_token)
            .status == 200);
}
