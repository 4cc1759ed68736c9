// The conventions every endpoint follows: the role matrix, the tenant wall, problem+json for bad
// input with nothing written, cursor pagination.
#include "db/tx.hpp"
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <set>

using loyalty::test::Api;
using loyalty::test::Daemon;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;

namespace {

nlohmann::json route_table() {
  auto r = loyalty::test::run_command({LOYALTYD_PATH, "--routes"});
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

std::string fill(std::string path, const std::string& tid, const std::string& id) {
  for (auto [name, value] :
       {std::pair{std::string("{tid}"), tid}, std::pair{std::string("{id}"), id}}) {
    for (auto at = path.find(name); at != std::string::npos; at = path.find(name)) {
      path.replace(at, name.size(), value);
    }
  }
  return path;
}

/// A fingerprint of every tenant-owned row: changes if anything is written anywhere.
std::string fingerprint(TestDatabase& db) {
  auto tables = loyalty::db::with_tx(db.owner(), [](loyalty::db::Tx& tx) {
    std::vector<std::string> out;
    for (const auto& r : tx.exec_raw("SELECT DISTINCT table_name FROM information_schema.columns "
                                     "WHERE table_schema = 'public' AND column_name = 'tenant_id' "
                                     "ORDER BY 1")) {
      out.push_back(r[0].as<std::string>());
    }
    return out;
  });
  std::string all;
  for (const auto& t : tables) {
    // An API key's last-used time is bookkeeping of its use, not a change made through it.
    std::string row = t == "api_keys" ? "(x.id, x.name, x.prefix, x.key_hash, x.scopes, "
                                        "x.revoked_at)::text"
                                      : "x::text";
    all += t + ":" +
           sql_value(db.owner(), "SELECT coalesce(md5(string_agg(" + row + ", '|' ORDER BY " + row +
                                     ")), '-') FROM " + t + " x") +
           ";";
  }
  return all;
}

const std::vector<std::string> kRoles = {"admin", "manager", "viewer", "pos"};

}  // namespace

TEST_CASE("api: every route answers each role as the route table says, with no escalation",
          "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, {"--rate-limit", "0", "--rate-limit-ip", "0"});
  Api api(daemon.port());
  auto creds = loyalty::test::seed_tenant(db, api, "matrix-shop");
  const std::string missing_id = "00000000-0000-4000-8000-000000000000";
  for (const auto& route : route_table()) {
    std::string path = route["path"];
    if (path.find("{tid}") == std::string::npos) continue;
    std::set<std::string> allowed(route["roles"].begin(), route["roles"].end());
    for (const auto& role : kRoles) {
      INFO(route["method"] << " " << path << " as " << role);
      auto res = api.send(route["method"], fill(path, creds.tenant_id, missing_id), "{}",
                          "application/json", creds.token(role));
      if (allowed.count(role)) {
        CHECK(res.status != 401);
        CHECK(res.status != 403);
      } else {
        CHECK(res.status == 403);
        CHECK(res.content_type == "application/problem+json");
      }
    }
    INFO(route["method"] << " " << path << " without a credential");
    CHECK(api.send(route["method"], fill(path, creds.tenant_id, missing_id), "{}",
                   "application/json", "")
              .status == 401);
  }
}

TEST_CASE("api: tenant B's credentials get 404 on every tenant A route and change nothing",
          "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, {"--rate-limit", "0", "--rate-limit-ip", "0"});
  Api api(daemon.port());
  auto a = loyalty::test::seed_tenant(db, api, "tenant-a");
  auto b = loyalty::test::seed_tenant(db, api, "tenant-b");
  auto customer =
      api.post("/v1/tenants/" + a.tenant_id + "/customers", {{"phone", "0771 111 222"}}, a.pos_key);
  REQUIRE(customer.status == 201);
  std::string a_customer = customer.body["id"];
  auto before = fingerprint(db);
  for (const auto& route : route_table()) {
    std::string path = route["path"];
    if (path.find("{tid}") == std::string::npos) continue;
    for (const auto& role : kRoles) {
      INFO(route["method"] << " " << path << " as tenant B's " << role);
      auto res = api.send(route["method"], fill(path, a.tenant_id, a_customer),
                          R"({"status":"suspended","phone":"0771 999 888","name":"x"})",
                          "application/json", b.token(role));
      CHECK(res.status == 404);
      CHECK(res.raw.find(a.tenant_id) == std::string::npos);
    }
  }
  CHECK(fingerprint(db) == before);
}

TEST_CASE("api: bad input gets the documented problem+json and writes nothing", "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db);
  Api api(daemon.port());
  auto creds = loyalty::test::seed_tenant(db, api, "input-shop");
  std::string path = "/v1/tenants/" + creds.tenant_id + "/customers";
  auto before = fingerprint(db);

  auto oversized = api.post_raw(path, R"({"phone":")" + std::string(2 << 20, '1') + "\"}",
                                "application/json", creds.pos_key);
  CHECK(oversized.status == 413);
  CHECK(oversized.content_type == "application/problem+json");

  std::string deep = std::string(100, '[') + std::string(100, ']');
  auto nested =
      api.post_raw(path, R"({"attributes":)" + deep + "}", "application/json", creds.pos_key);
  CHECK(nested.status == 400);
  CHECK(nested.body["detail"].get<std::string>().find("64") != std::string::npos);

  auto malformed =
      api.post_raw(path, R"({"phone": "0771 234 567",)", "application/json", creds.pos_key);
  CHECK(malformed.status == 400);
  CHECK(malformed.body["detail"].get<std::string>().find("byte") != std::string::npos);

  auto unknown = api.post(path, {{"phone", "0771234567"}, {"nickname", "x"}}, creds.pos_key);
  CHECK(unknown.status == 400);
  CHECK(unknown.body["errors"][0]["pointer"] == "/nickname");

  auto wrong_type = api.post(path, {{"phone", 771234567}, {"tags", "vip"}}, creds.pos_key);
  CHECK(wrong_type.status == 422);
  CHECK(wrong_type.body["errors"].size() == 2);

  auto bad_phone = api.post(path, {{"phone", "0771 23"}}, creds.pos_key);
  CHECK(bad_phone.status == 422);
  CHECK(bad_phone.body["errors"][0]["pointer"] == "/phone");
  CHECK(bad_phone.body["type"] == "https://loyalty.example/problems/validation-failed");

  auto form =
      api.post_raw(path, "phone=0771234567", "application/x-www-form-urlencoded", creds.pos_key);
  CHECK(form.status == 415);

  for (const auto* res :
       {&oversized, &nested, &malformed, &unknown, &wrong_type, &bad_phone, &form}) {
    CHECK(res->content_type == "application/problem+json");
    CHECK(res->raw.find("SELECT") == std::string::npos);
    CHECK(res->raw.find("customers_") == std::string::npos);
  }
  CHECK(fingerprint(db) == before);
}

TEST_CASE("api: customers list in stable cursor pages with filters", "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db);
  Api api(daemon.port());
  auto creds = loyalty::test::seed_tenant(db, api, "page-shop");
  std::string path = "/v1/tenants/" + creds.tenant_id + "/customers";
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto res = api.post(path, {{"phone", "077100000" + std::to_string(i)}}, creds.pos_key);
    REQUIRE(res.status == 201);
    ids.push_back(res.body["id"]);
  }
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto res = api.get(path + "?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor),
                       creds.viewer_token);
    REQUIRE(res.status == 200);
    for (const auto& c : res.body["items"]) seen.push_back(c["id"]);
    cursor = res.body["next_cursor"].is_null() ? "" : res.body["next_cursor"].get<std::string>();
    ++pages;
  } while (!cursor.empty());
  CHECK(pages == 3);
  CHECK(seen == ids);

  auto by_phone = api.get(path + "?phone=%2B263771000003", creds.pos_key);
  REQUIRE(by_phone.body["items"].size() == 1);
  CHECK(by_phone.body["items"][0]["id"] == ids[3]);
  REQUIRE(
      api.patch(path + "/" + ids[1] + "/status", {{"status", "opted_out"}}, creds.pos_key).status ==
      200);
  auto opted = api.get(path + "?status=opted_out", creds.admin_token);
  REQUIRE(opted.body["items"].size() == 1);
  CHECK(opted.body["items"][0]["consent"]["given"] == false);

  CHECK(api.get(path + "?limit=0", creds.pos_key).status == 422);
  CHECK(api.get(path + "?limit=201", creds.pos_key).status == 422);
  CHECK(api.get(path + "?cursor=garbage", creds.pos_key).status == 422);
  // "v1|2026-11-24T10:00:00.000000Z|not-a-uuid": one of our formats, not one of our cursors.
  CHECK(api.get(path + "?cursor=djF8MjAyNi0xMS0yNFQxMDowMDowMC4wMDAwMDBafG5vdC1hLXV1aWQ",
                creds.pos_key)
            .status == 422);
  CHECK(api.get(path + "/" + ids[0], creds.pos_key).body["phone"] == "+263771000000");
}

TEST_CASE("api: lists filter through their indexes - a till finds one customer among thousands",
          "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db);
  Api api(daemon.port());
  auto creds = loyalty::test::seed_tenant(db, api, "big-shop");
  sql_value(db.owner(), "INSERT INTO customers (tenant_id, phone) SELECT '" + creds.tenant_id +
                            "', '+26377' || lpad(n::text, 7, '0') FROM generate_series(1, 5000) n");
  sql_value(db.owner(), "ANALYZE customers");
  // The daemon's statements are planned once for any values, except lists with filters: planned
  // for the phone given, the lookup reads the phone's unique index. A plan made for any phone
  // could not, and would scan every customer of the tenant at each till lookup.
  const std::string scans =
      "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'customers_phone_key'";
  long long before = std::stoll(sql_value(db.owner(), scans));
  std::string path = "/v1/tenants/" + creds.tenant_id + "/customers";
  for (const char* phone : {"%2B263770004321", "%2B263770000007", "%2B263779999999"}) {
    auto found = api.get(path + "?phone=" + phone, creds.pos_key);
    REQUIRE(found.status == 200);
    CHECK(found.body["items"].size() == (std::string(phone) == "%2B263779999999" ? 0u : 1u));
  }
  auto one = api.get(path + "?phone=%2B263770004321", creds.pos_key);
  CHECK(one.body["items"][0]["phone"] == "+263770004321");
  // PostgreSQL publishes a backend's counters within a second or so of its going idle.
  CHECK(loyalty::test::wait_for_value(
            db.owner(),
            "SELECT idx_scan >= " + std::to_string(before + 4) + " FROM (" + scans + ") s",
            "t") == "t");
}
