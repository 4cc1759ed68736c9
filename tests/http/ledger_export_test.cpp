// The ledger as a download for the dashboard: GET /v1/tenants/:tid/ledger/export.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <vector>

using loyalty::test::Api;
using loyalty::test::Daemon;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

std::vector<std::string> crlf_lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find("\r\n", at);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(at, end - at));
    at = end + 2;
  }
  return out;
}

}  // namespace

TEST_CASE(
    "ledger export: the filtered ledger downloads as CSV or JSON lines, oldest first, for every "
    "dashboard role, and a bad format is a 422",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, {"--rate-limit", "0", "--rate-limit-ip", "0"});
  Api api(daemon.port());
  auto shop = loyalty::test::seed_tenant(db, api, "shop");
  const std::string base = "/v1/tenants/" + shop.tenant_id;
  REQUIRE(api.post(base + "/budgets", {{"name", "Promo"}, {"currency", "USD"}, {"total", "100.00"}},
                   shop.admin_token)
              .status == 201);
  REQUIRE(api.post(base + "/budgets", {{"name", "Other"}, {"currency", "USD"}, {"total", "5.00"}},
                   shop.admin_token)
              .status == 201);
  REQUIRE(api.post(base + "/budgets/Promo/topup",
                   {{"amount", "25.50"}, {"reference", "INV, \"7\""}}, shop.admin_token)
              .status == 201);

  auto all = api.get(base + "/ledger/export", shop.viewer_token);
  INFO(all.raw);
  REQUIRE(all.status == 200);
  CHECK(all.content_type == "text/csv; charset=utf-8");
  CHECK(all.headers.find("Content-Disposition")->second == "attachment; filename=\"ledger.csv\"");
  auto lines = crlf_lines(all.raw);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] ==
        "id,created_at,budget_id,budget_name,kind,debit_account,credit_account,amount,currency,"
        "issuance_id,reference,period_start,actor");
  CHECK(lines[1].find(",Promo,topup,funding,available,100.00,USD,") != std::string::npos);
  CHECK(lines[2].find(",Other,topup,funding,available,5.00,USD,") != std::string::npos);
  CHECK(lines[3].find(",Promo,topup,funding,available,25.50,USD,,\"INV, \"\"7\"\"\",") !=
        std::string::npos);

  auto promo = api.get(base + "/ledger/export?budget=Promo&format=jsonl", shop.manager_token);
  REQUIRE(promo.status == 200);
  CHECK(promo.content_type == "application/x-ndjson");
  std::istringstream in(promo.raw);
  std::vector<json> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(json::parse(line));
  REQUIRE(rows.size() == 2);
  CHECK(rows[0]["amount"] == "100.00");
  CHECK(rows[1]["amount"] == "25.50");
  CHECK(rows[1]["reference"] == "INV, \"7\"");

  auto bad = api.get(base + "/ledger/export?format=xml", shop.admin_token);
  CHECK(bad.status == 422);
  CHECK(bad.body["errors"][0]["pointer"] == "/format");
  auto bad_date = api.get(base + "/ledger/export?from=soon", shop.admin_token);
  CHECK(bad_date.status == 422);
  CHECK(bad_date.body["errors"][0]["pointer"] == "/from");
  CHECK(api.get(base + "/ledger/export", shop.pos_key).status == 403);
}
