// The tenant wall over HTTP: tenant B, on its own paths, can reach none of tenant A's objects by
// their ids; and a daemon whose two pooled connections serve two tenants in turn answers each
// with its own data.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <set>
#include <thread>

using loyalty::test::Api;
using loyalty::test::ApiResponse;
using loyalty::test::Daemon;
using loyalty::test::database_fingerprint;
using loyalty::test::sql_value;
using loyalty::test::TenantCredentials;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

// No worker: nothing changes the database behind the test's back between two fingerprints.
const std::vector<std::string> kArgs = {
    "--workers",       "0", "--rate-limit",       "0",
    "--rate-limit-ip", "0", "--outbound-resolve", "hooks.example.com:443:93.184.216.34"};

json route_table() {
  auto r = loyalty::test::run_command({LOYALTYD_PATH, "--routes"});
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

/// The table holding the objects of each collection whose routes take an {id}: the id a route
/// is tried with is one of A's rows of that table. A new collection must be added here, or the
/// wall test fails naming its route.
const std::map<std::string, std::string> kIdTables = {{"reward-catalog", "rewards"},
                                                      {"budgets", "budgets"},
                                                      {"campaigns", "campaigns"},
                                                      {"rules", "rules"},
                                                      {"customers", "customers"},
                                                      {"users", "users"},
                                                      {"api-keys", "api_keys"},
                                                      {"events", "events"},
                                                      {"issuances", "issuances"},
                                                      {"segments", "segments"},
                                                      {"webhooks", "webhook_subscriptions"},
                                                      {"webhook-deliveries", "webhook_deliveries"}};

/// The collection an {id} belongs to: the path segment before it.
std::string collection_of(const std::string& path) {
  auto at = path.find("/{id}");
  auto start = path.rfind('/', at - 1);
  return path.substr(start + 1, at - start - 1);
}

/// A body that passes each route's validation, so that only the lookup of the id can refuse it.
struct Body {
  std::string text;
  std::string content_type;
};
Body body_for(const std::string& method, const std::string& path) {
  auto ends_with = [&](const std::string& tail) {
    return path.size() >= tail.size() &&
           path.compare(path.size() - tail.size(), tail.size(), tail) == 0;
  };
  if (method == "GET" || method == "DELETE") return {"", ""};
  if (ends_with("/upload-codes")) return {"code\nWALL-0001\nWALL-0002\n", "text/csv"};
  if (ends_with("/topup")) return {R"({"amount":"5.00","reference":"wall-1"})", "application/json"};
  if (ends_with("/status")) return {R"({"status":"suspended"})", "application/json"};
  if (ends_with("/cancel")) return {R"({"reason":"wall"})", "application/json"};
  if (ends_with("/redeem") || ends_with("/disable")) return {"", ""};
  if (method == "PATCH" && path.find("/webhooks/") != std::string::npos) {
    return {R"({"description":"taken over"})", "application/json"};
  }
  if (method == "PATCH" && ends_with("/customers/{id}")) {
    return {R"({"tags":{"add":["taken over"]}})", "application/json"};
  }
  if (method == "PATCH") return {R"({"name":"taken over"})", "application/json"};
  if (method == "PUT" && ends_with("/segments/{id}")) {
    return {R"({"name":"taken over","conditions":true})", "application/json"};
  }
  return {"{}", "application/json"};
}

/// A role the route admits, admin first.
std::string role_for(const json& route) {
  std::set<std::string> roles(route["roles"].begin(), route["roles"].end());
  for (const char* role : {"admin", "manager", "viewer", "pos"}) {
    if (roles.count(role)) return role;
  }
  return "";
}

std::string fill(std::string path, const std::string& tid, const std::string& id) {
  path.replace(path.find("{tid}"), 5, tid);
  if (auto at = path.find("{id}"); at != std::string::npos) path.replace(at, 4, id);
  return path;
}

/// Gives a tenant one object of every kind, through the API as that tenant.
void seed_objects(Api& api, const TenantCredentials& c) {
  std::string base = "/v1/tenants/" + c.tenant_id;
  auto created = [&](const ApiResponse& res) {
    INFO(res.raw);
    REQUIRE(res.status == 201);
  };
  // First, so that every event below has a delivery (never sent: the daemon has no worker).
  created(api.post(base + "/webhooks",
                   {{"url", "https://hooks.example.com/x"}, {"event_types", {"*"}}},
                   c.admin_token));
  created(api.post(base + "/budgets", {{"name", "Launch"}, {"currency", "USD"}, {"total", "50.00"}},
                   c.admin_token));
  created(api.post(base + "/campaigns", {{"name", "Launch week"}, {"budget", "Launch"}},
                   c.manager_token));
  created(api.post(base + "/reward-catalog",
                   {{"name", "$5 off"},
                    {"type", "voucher"},
                    {"cost", "5.00"},
                    {"currency", "USD"},
                    {"budget", "Launch"},
                    {"config", {{"source", "generated"}, {"prefix", "FIVE-"}}}},
                   c.manager_token));
  created(api.post(base + "/rules",
                   {{"name", "Spend 50, get 5"},
                    {"event_type", "purchase"},
                    {"conditions", {{">=", {{{"var", "event.amount"}}, 50}}}},
                    {"reward", "$5 off"},
                    {"budget", "Launch"}},
                   c.manager_token));
  created(api.post(base + "/customers", {{"phone", "0771 111 222"}, {"consent", true}}, c.pos_key));
  created(
      api.post(base + "/segments", {{"name", "everyone"}, {"conditions", true}}, c.manager_token));
  auto event = api.send("POST", base + "/events",
                        json{{"customer", {{"phone", "0771 111 222"}}},
                             {"type", "purchase"},
                             {"data", {{"amount", "60.00"}, {"currency", "USD"}}}}
                            .dump(),
                        "application/json", c.pos_key, {{"Idempotency-Key", "wall-1"}});
  created(event);
  REQUIRE(event.body["issuances"].size() == 1);
}

}  // namespace

TEST_CASE(
    "tenant walls: on its own paths, tenant B gets 404 for each of tenant A's object ids on "
    "every {id} route, and nothing changes",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kArgs);
  Api api(daemon.port());
  auto a = loyalty::test::seed_tenant(db, api, "tenant-a");
  auto b = loyalty::test::seed_tenant(db, api, "tenant-b");
  seed_objects(api, a);
  seed_objects(api, b);

  std::map<std::string, std::string> a_ids;
  for (const auto& [collection, table] : kIdTables) {
    a_ids[collection] = sql_value(db.owner(), "SELECT id FROM " + table + " WHERE tenant_id = '" +
                                                  a.tenant_id + "' ORDER BY created_at LIMIT 1");
    INFO(collection);
    REQUIRE(!a_ids[collection].empty());
  }

  auto before = database_fingerprint(db);
  int tried = 0;
  std::set<std::string> collections;
  std::vector<std::pair<std::string, std::string>> own_reads;  // target, role
  for (const auto& route : route_table()) {
    std::string path = route["path"], method = route["method"];
    if (path.find("{id}") == std::string::npos) continue;
    INFO(method << " " << path);
    REQUIRE(path.find("{tid}") != std::string::npos);
    auto collection = collection_of(path);
    auto found = a_ids.find(collection);
    if (found == a_ids.end()) {
      FAIL("no id source for the collection '" << collection << "': add its table to kIdTables");
    }
    collections.insert(collection);
    auto role = role_for(route);
    REQUIRE(!role.empty());
    auto body = body_for(method, path);
    std::string target = fill(path, b.tenant_id, found->second);
    INFO("as tenant B's " << role << ": " << target);
    auto res = api.send(method, target, body.text, body.content_type, b.token(role));
    CHECK(res.status == 404);
    CHECK(res.content_type == "application/problem+json");
    // The id is real: on A's own path, A's credential of the same role finds it (checked after
    // the fingerprint: some reads are audited, a customer's export).
    if (method == "GET") own_reads.emplace_back(fill(path, a.tenant_id, found->second), role);
    ++tried;
  }
  CHECK(tried >= 26);                             // the {id} routes of today
  CHECK(collections.size() == kIdTables.size());  // every id source is used by some route
  CHECK(database_fingerprint(db) == before);
  for (const auto& [target, role] : own_reads) {
    INFO("as tenant A's " << role << ": " << target);
    CHECK(api.get(target, a.token(role)).status == 200);
  }
}

TEST_CASE(
    "tenant walls: 1,000 requests alternating two tenants over a pool of 2 connections each "
    "answer with that tenant's own data",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(
      db, {"--pool-size", "2", "--workers", "0", "--rate-limit", "0", "--rate-limit-ip", "0"});
  Api api(daemon.port());
  struct Tenant {
    TenantCredentials creds;
    std::set<std::string> customers;
  };
  std::vector<Tenant> tenants;
  for (const char* slug : {"pool-a", "pool-b"}) {
    Tenant t{loyalty::test::seed_tenant(db, api, slug), {}};
    for (int i = 0; i < 3; ++i) {
      auto phone = "07710000" + std::to_string(tenants.size()) + std::to_string(i);
      auto res = api.post("/v1/tenants/" + t.creds.tenant_id + "/customers", {{"phone", phone}},
                          t.creds.pos_key);
      INFO(res.raw);
      REQUIRE(res.status == 201);
      t.customers.insert(res.body["id"].get<std::string>());
    }
    tenants.push_back(std::move(t));
  }

  constexpr int kRequests = 1000;
  std::atomic<int> next{0}, wrong{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      Api own(daemon.port());
      for (int i = next++; i < kRequests; i = next++) {
        const auto& t = tenants[i % 2];
        try {
          auto res = own.get("/v1/tenants/" + t.creds.tenant_id + "/customers?limit=10",
                             i % 4 < 2 ? t.creds.pos_key : t.creds.viewer_token);
          std::set<std::string> seen;
          for (const auto& item : res.body["items"]) seen.insert(item["id"].get<std::string>());
          if (res.status != 200 || seen != t.customers) ++wrong;
        } catch (const std::exception&) {
          ++failed;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  CHECK(failed == 0);
  CHECK(wrong == 0);
  // The daemon never opened more than its two connections.
  CHECK(sql_value(db.owner(), "SELECT count(*) <= 2 FROM pg_stat_activity WHERE datname = '" +
                                  db.name() + "' AND usename = 'loyalty_app'") == "t");
}
