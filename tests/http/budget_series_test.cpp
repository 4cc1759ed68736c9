// A budget's utilisation over time (the dashboard's Budgets page): what each local day, week or
// month moved, and where the budget stood at its end, exact to the cent from the ledger, for a
// budget without periods and a daily one (whose counters start at zero each day, though its
// rollover is only recorded when it is next used).
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <memory>

using loyalty::test::Api;
using loyalty::test::ApiResponse;
using loyalty::test::Daemon;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

const std::string kJwtSecrets = R"({"k1":"budget-series-test-secret-0123456789abcdef"})";

/// app_now() of the daemon's every session from now on (a daemon started after this).
void clock_at(TestDatabase& db, const std::string& instant) {
  sql_value(db.owner(), "ALTER DATABASE " + db.name() + " SET app.now = '" + instant + "'");
}

Daemon start(TestDatabase& db) {
  return Daemon::over(db, {"--rate-limit", "0", "--rate-limit-ip", "0", "--workers", "1",
                           "--jwt-secrets", kJwtSecrets, "--jwt-kid", "k1"});
}

json must(const ApiResponse& r, int status) {
  INFO(r.raw);
  REQUIRE(r.status == status);
  return r.body;
}

/// One bucket as the API answers it.
json bucket(const std::string& start, const std::string& topped_up, const std::string& reserved,
            const std::string& committed, const std::string& spent, const std::string& released,
            const std::string& used, const std::string& total, const json& utilisation) {
  return {{"start", start},         {"topped_up", topped_up}, {"reserved", reserved},
          {"committed", committed}, {"spent", spent},         {"released", released},
          {"used", used},           {"total", total},         {"utilisation", utilisation}};
}

/// A visit of `phone`; the ids of the Coffee it gave.
std::string visit(Api& api, const loyalty::test::TenantCredentials& shop, const std::string& phone,
                  const std::string& key) {
  auto answer =
      must(api.post("/v1/tenants/" + shop.tenant_id + "/events",
                    {{"customer", {{"phone", phone}}}, {"type", "visit"}, {"idempotency_key", key}},
                    shop.pos_key),
           201);
  for (const auto& i : answer["issuances"]) {
    if (i["reward"]["name"] == "Coffee") return i["id"].get<std::string>();
  }
  return "";
}

}  // namespace

TEST_CASE(
    "budget series: a budget's top-ups, reservations, commitments, spending and releases per "
    "local day, week and month, with its utilisation at each end, exact to the cent",
    "[http]") {
  TestDatabase db;
  // Monday 2 November 2026, 10:00 in Harare (the tenant's zone).
  clock_at(db, "2026-11-02T10:00:00+02:00");
  auto daemon = std::make_unique<Daemon>(start(db));
  auto api = std::make_unique<Api>(daemon->port());
  auto shop = loyalty::test::seed_tenant(db, *api, "shop");
  const std::string base = "/v1/tenants/" + shop.tenant_id;
  must(api->post(base + "/budgets", {{"name", "Promo"}, {"currency", "USD"}, {"total", "100.00"}},
                 shop.admin_token),
       201);
  must(api->post(base + "/budgets",
                 {{"name", "Daily"}, {"currency", "USD"}, {"total", "10.00"}, {"period", "daily"}},
                 shop.admin_token),
       201);
  for (const auto& [name, cost, budget] :
       {std::tuple{"Coffee", "2.50", "Promo"}, std::tuple{"Tea", "1.00", "Daily"}}) {
    must(api->post(base + "/reward-catalog",
                   {{"name", name},
                    {"type", "physical"},
                    {"currency", "USD"},
                    {"cost", cost},
                    {"budget", budget},
                    {"config", {{"stock", 100}}}},
                   shop.manager_token),
         201);
    must(api->post(base + "/rules",
                   {{"name", std::string(name) + " on visits"},
                    {"event_type", "visit"},
                    {"conditions", true},
                    {"reward", name}},
                   shop.manager_token),
         201);
  }
  // 2 November: A and B visit (a Coffee and a Tea each, issued by the worker); A's Coffee is
  // redeemed.
  auto a = visit(*api, shop, "+263771111111", "a");
  auto b = visit(*api, shop, "+263772222222", "b");
  auto issued = [&](const std::string& n) {
    REQUIRE(loyalty::test::wait_for_value(
                db.owner(), "SELECT count(*) FROM issuances WHERE state IN ('issued', 'redeemed')",
                n) == n);
  };
  issued("4");
  must(api->post(base + "/issuances/" + a + "/redeem", json::object(), shop.pos_key), 200);

  // Wednesday 4 November, 09:00: a top-up, C's visit, B's Coffee cancelled (released).
  REQUIRE(daemon->stop(SIGTERM) == 0);
  clock_at(db, "2026-11-04T09:00:00+02:00");
  daemon = std::make_unique<Daemon>(start(db));
  api = std::make_unique<Api>(daemon->port());
  must(api->post(base + "/budgets/Promo/topup", {{"amount", "25.00"}, {"reference", "INV-1"}},
                 shop.admin_token),
       201);
  visit(*api, shop, "+263773333333", "c");
  issued("6");
  must(api->post(base + "/issuances/" + b + "/cancel", {{"reason", "test"}}, shop.manager_token),
       200);

  auto promo =
      must(api->get(base + "/budgets/Promo/series?interval=day&from=2026-11-01&to=2026-11-05",
                    shop.viewer_token),
           200);
  const std::string promo_id = promo["budget"]["id"];
  CHECK(promo["budget"] ==
        json({{"id", promo_id}, {"name", "Promo"}, {"currency", "USD"}, {"period", "none"}}));
  CHECK(promo["interval"] == "day");
  CHECK(promo["timezone"] == "Africa/Harare");
  CHECK(promo["from"] == "2026-11-01");
  CHECK(promo["to"] == "2026-11-05");
  CHECK(promo["buckets"] ==
        json::array({
            bucket("2026-11-01", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", nullptr),
            bucket("2026-11-02", "100.00", "5.00", "5.00", "2.50", "0.00", "5.00", "100.00", 0.05),
            bucket("2026-11-03", "0.00", "0.00", "0.00", "0.00", "0.00", "5.00", "100.00", 0.05),
            bucket("2026-11-04", "25.00", "2.50", "2.50", "0.00", "2.50", "5.00", "125.00", 0.04),
            bucket("2026-11-05", "0.00", "0.00", "0.00", "0.00", "0.00", "5.00", "125.00", 0.04),
        }));
  CHECK(promo["totals"] == json({{"topped_up", "125.00"},
                                 {"reserved", "7.50"},
                                 {"committed", "7.50"},
                                 {"spent", "2.50"},
                                 {"released", "2.50"}}));
  // The budget as it stands agrees with the last day: A's spent, C's utilized, B's released.
  auto now = must(api->get(base + "/budgets/Promo", shop.viewer_token), 200);
  CHECK(now["spent"] == "2.50");
  CHECK(now["utilized"] == "2.50");
  CHECK(now["reserved"] == "0.00");
  CHECK(now["total"] == "125.00");

  // Weeks from Monday: the first is named by its Monday, though only its Sunday is in the period.
  auto weeks = must(api->get(base + "/budgets/" + promo_id +
                                 "/series?interval=week&from=2026-11-01&to=2026-11-05",
                             shop.manager_token),
                    200);
  CHECK(weeks["buckets"] ==
        json::array({
            bucket("2026-10-26", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", nullptr),
            bucket("2026-11-02", "125.00", "7.50", "7.50", "2.50", "2.50", "5.00", "125.00", 0.04),
        }));
  // A month, from the 3rd: what the 2nd moved is not counted, but the budget stood where it did.
  auto month =
      must(api->get(base + "/budgets/Promo/series?interval=month&from=2026-11-03&to=2026-11-30",
                    shop.admin_token),
           200);
  CHECK(month["buckets"] == json::array({bucket("2026-11-01", "25.00", "2.50", "2.50", "0.00",
                                                "2.50", "5.00", "125.00", 0.04)}));

  // The daily budget starts each day at zero: the 3rd used nothing, though its rollover was
  // recorded only on the 4th, when it was next used.
  auto daily = must(
      api->get(base + "/budgets/Daily/series?from=2026-11-01&to=2026-11-05", shop.viewer_token),
      200);
  CHECK(daily["budget"]["period"] == "daily");
  CHECK(daily["buckets"] ==
        json::array({
            bucket("2026-11-01", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", nullptr),
            bucket("2026-11-02", "10.00", "2.00", "2.00", "0.00", "0.00", "2.00", "10.00", 0.2),
            bucket("2026-11-03", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "10.00", 0.0),
            bucket("2026-11-04", "0.00", "1.00", "1.00", "0.00", "0.00", "1.00", "10.00", 0.1),
            bucket("2026-11-05", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "10.00", 0.0),
        }));
  CHECK(sql_value(db.owner(),
                  "SELECT string_agg(m.kind || ' ' || m.amount_minor, ',' ORDER BY m.id) FROM "
                  "ledger_movements m JOIN budgets b ON b.id = m.budget_id WHERE b.name = 'Daily' "
                  "AND m.kind = 'rollover'") == "rollover 200,rollover 200");
  // By default, the 30 days to today (the 4th).
  auto recent = must(api->get(base + "/budgets/Daily/series", shop.viewer_token), 200);
  CHECK(recent["from"] == "2026-10-06");
  CHECK(recent["to"] == "2026-11-04");
  CHECK(recent["buckets"].size() == 30);
  CHECK(recent["totals"]["reserved"] == "3.00");

  // Problems name the parameter; an unknown budget is not found; staff only, this tenant only.
  auto problem = [&](const std::string& query) {
    auto r = api->get(base + "/budgets/Promo/series?" + query, shop.viewer_token);
    INFO(r.raw);
    CHECK(r.status == 422);
    std::string out;
    for (const auto& e : r.body["errors"]) {
      out += (out.empty() ? "" : "; ") + e["pointer"].get<std::string>() + " " +
             e["message"].get<std::string>();
    }
    return out;
  };
  CHECK(problem("interval=hour") == "/interval must be day, week or month");
  CHECK(problem("from=2026-13-01") == "/from must be a date such as 2026-11-01");
  CHECK(problem("from=2026-11-05&to=2026-11-01") == "/from must not be after to");
  CHECK(problem("from=2025-01-01&to=2026-11-01") ==
        "/interval day buckets cover at most 400 days: use week or month");
  CHECK(problem("interval=month&from=2022-01-01&to=2026-11-01") ==
        "/to the period is at most 1096 days");
  CHECK(api->get(base + "/budgets/Nothing/series", shop.viewer_token).status == 404);
  CHECK(api->get(base + "/budgets/Promo/series", shop.pos_key).status == 403);
  auto other = loyalty::test::seed_tenant(db, *api, "other");
  CHECK(api->get(base + "/budgets/Promo/series", other.admin_token).status == 404);
  CHECK(api->get("/v1/tenants/" + other.tenant_id + "/budgets/" + promo_id + "/series",
                 other.admin_token)
            .status == 404);
}
