// The merchant dashboard served by the real daemon: the built app (web/dist) at / with its
// security headers and cache rules, the SPA fallback, and the app itself driven in a real
// headless Chromium (web/e2e/dashboard.mjs, playwright-core with Debian's chromium).
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>

using loyalty::test::Api;
using loyalty::test::Daemon;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

const std::string kWebDir = std::string(LOYALTY_SOURCE_DIR) + "/web/dist";

std::string header(const loyalty::test::ApiResponse& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

}  // namespace

TEST_CASE(
    "dashboard: loyaltyd serves the built app with a strict CSP, year-long caching of hashed "
    "assets and an SPA fallback, and the API is untouched",
    "[http]") {
  INFO("the dashboard is built by scripts/test: npm ci --prefix web && npm run build --prefix web");
  REQUIRE(std::filesystem::exists(kWebDir + "/index.html"));
  TestDatabase db;
  auto daemon = Daemon::over(db, {"--web-dir", kWebDir});
  Api api(daemon.port());

  auto index = api.get("/");
  REQUIRE(index.status == 200);
  CHECK(index.content_type.rfind("text/html", 0) == 0);
  CHECK(header(index, "Content-Security-Policy").find("script-src 'self';") != std::string::npos);
  CHECK(header(index, "Content-Security-Policy").find("unsafe-inline") == std::string::npos);
  CHECK(header(index, "X-Frame-Options") == "DENY");
  CHECK(header(index, "X-Content-Type-Options") == "nosniff");
  CHECK(header(index, "Cache-Control") == "no-cache");
  // No inline script: the only script is the bundle, from this origin.
  std::smatch script;
  REQUIRE(std::regex_search(index.raw, script,
                            std::regex("<script[^>]*src=\"(/assets/[^\"]+\\.js)\"")));
  CHECK(index.raw.find("<script>") == std::string::npos);

  auto bundle = api.get(script[1].str());
  CHECK(bundle.status == 200);
  CHECK(bundle.content_type.rfind("text/javascript", 0) == 0);
  CHECK(header(bundle, "Cache-Control") == "public, max-age=31536000, immutable");

  // A page of the app, opened by its address: the app.
  auto deep = api.get("/customers/0e33d778-c798-419d-8ed4-babab2bed69d");
  CHECK(deep.status == 200);
  CHECK(deep.raw == index.raw);
  // A file that is not there, and the API's own 404s, stay 404 problems.
  CHECK(api.get("/assets/missing-1234.js").status == 404);
  CHECK(api.get("/favicon-missing.png").status == 404);
  auto api_404 = api.get("/v1/no-such-thing");
  CHECK(api_404.status == 404);
  CHECK(api_404.content_type == "application/problem+json");
  CHECK(api.get("/health").status == 200);
}

TEST_CASE(
    "dashboard: staff sign in, suspend a customer, read the notices, create a reward and upload "
    "its codes, build a rule (a problem shown at its node, fixed, simulated, saved), redeem the "
    "voucher it gives, read a customer's page and adjust their points, a viewer sees no edit "
    "controls, every page passes axe (headless Chromium)",
    "[http]") {
  REQUIRE(std::filesystem::exists(kWebDir + "/index.html"));
  TestDatabase db;
  auto daemon = Daemon::over(
      db, {"--web-dir", kWebDir, "--rate-limit", "0", "--rate-limit-ip", "0", "--workers", "1",
           "--allow-private-webhooks", "true", "--allow-http-webhooks", "true"});
  Api api(daemon.port());
  auto shop = loyalty::test::seed_tenant(db, api, "shop");
  loyalty::test::free_coffee_on_every_visit(api, shop);
  const std::string base = "/v1/tenants/" + shop.tenant_id;
  // Every purchase earns 10 points (the customer's page shows the movement).
  REQUIRE(api.post(base + "/reward-catalog",
                   {{"name", "10 points"},
                    {"type", "points"},
                    {"currency", "USD"},
                    {"validity_days", 90},
                    {"config", {{"points", 10}}}},
                   shop.manager_token)
              .status == 201);
  REQUIRE(api.post(base + "/rules",
                   {{"name", "Points per purchase"},
                    {"event_type", "purchase"},
                    {"conditions", true},
                    {"reward", "10 points"}},
                   shop.manager_token)
              .status == 201);
  REQUIRE(api.post(base + "/budgets",
                   {{"name", "Launch"}, {"currency", "USD"}, {"total", "100.00"}}, shop.admin_token)
              .status == 201);
  for (const char* phone : {"+263771111111", "+263772222222"}) {
    REQUIRE(
        api.post(base + "/customers", {{"phone", phone}, {"consent", true}}, shop.pos_key).status ==
        201);
  }
  // A visit gives a reward whose notice cannot go: the tenant has no WhatsApp number.
  REQUIRE(api.send("POST", base + "/events",
                   json{{"customer", {{"phone", "+263771111111"}}}, {"type", "visit"}}.dump(),
                   "application/json", shop.pos_key, {{"Idempotency-Key", "visit-1"}})
              .status == 201);
  REQUIRE(loyalty::test::wait_for_value(db.owner(), "SELECT status FROM notifications",
                                        "cancelled") == "cancelled");

  // Screenshots of every page go to build/dashboard/ for a reviewer to look at.
  auto run = loyalty::test::run_command(
      {"/usr/bin/env", "node", std::string(LOYALTY_SOURCE_DIR) + "/web/e2e/dashboard.mjs",
       "http://127.0.0.1:" + std::to_string(daemon.port()), shop.admin_email, shop.admin_password,
       "viewer@shop.example", "correct horse battery staple", shop.tenant_id, shop.pos_key},
      "", {"DASHBOARD_SCREENSHOTS=" + std::string(LOYALTY_BINARY_DIR) + "/dashboard"});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 0);
  CHECK(run.out.find("FAIL") == std::string::npos);
  // Every check of the script ran, the last one included.
  std::size_t passed = 0;
  for (std::size_t at = run.out.find("ok   "); at != std::string::npos;
       at = run.out.find("ok   ", at + 1)) {
    ++passed;
  }
  CHECK(passed == 102);
  CHECK(run.out.find("ok   no script errors and no Content-Security-Policy violations") !=
        std::string::npos);
  // What the browser did is in the database.
  CHECK(sql_value(db.owner(), "SELECT status FROM customers WHERE phone = '+263771111111'") ==
        "suspended");
  CHECK(sql_value(db.owner(), "SELECT status FROM customers WHERE phone = '+263772222222'") ==
        "active");
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM reward_codes c JOIN rewards r ON r.id = c.reward_id "
                  "WHERE r.name = 'Weekend voucher'") == "2");
  CHECK(sql_value(
            db.owner(),
            "SELECT priority || ' ' || conditions::text FROM rules WHERE name = 'Harare visits'") ==
        R"(5 {"and": [{"==": [{"var": "event.store"}, "harare"]}]})");
  CHECK(sql_value(db.owner(), "SELECT total_minor FROM budgets WHERE name = 'Launch'") == "12500");
  // The purchase's 10 points and the admin's credit of 25, less the claim of 20 (from both
  // lots); the refused debit and the refused second claim took nothing.
  CHECK(sql_value(db.owner(),
                  "SELECT points_balance FROM customers WHERE phone = '+263772222222'") == "15");
  CHECK(sql_value(
            db.owner(),
            "SELECT string_agg(m.kind || ' ' || m.points, ',' ORDER BY m.id) FROM points_ledger m "
            "JOIN customers c ON c.id = m.customer_id WHERE c.phone = '+263772222222'") ==
        "earn 10,adjustment 25,spend -10,spend -10");
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) || ' ' || min(i.state) FROM issuances i JOIN rewards r ON "
                  "r.id = i.reward_id WHERE r.name = '$1 for 20 points'") == "1 issued");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM claim_keys") == "1");
  CHECK(sql_value(db.owner(),
                  "SELECT i.state FROM issuances i JOIN rewards r ON r.id = i.reward_id "
                  "WHERE r.name = 'Weekend voucher'") == "redeemed");
  // The admin's channels: the code stays, the number was added and removed.
  CHECK(sql_value(db.owner(),
                  "SELECT string_agg(channel || ' ' || address, ',') FROM channel_routes") ==
        "ussd *123*4#");
  CHECK(sql_value(db.owner(),
                  "SELECT string_agg(action || ' ' || entity_id, ',' ORDER BY id) FROM audit_log "
                  "WHERE entity_type = 'channel'") ==
        "channel.add ussd:*123*4#,channel.add whatsapp:106540352242922,channel.remove "
        "whatsapp:106540352242922");
  for (const char* page : {"login", "customers", "notifications", "rewards", "upload-codes",
                           "rules", "rule-builder-error", "rule-builder", "issuances", "overview",
                           "analytics", "customer", "customer-viewer", "rule-viewer", "budgets",
                           "budgets-over-time", "channels", "channels-viewer"}) {
    INFO(page);
    CHECK(std::filesystem::exists(std::string(LOYALTY_BINARY_DIR) + "/dashboard/" + page + ".png"));
  }
}
