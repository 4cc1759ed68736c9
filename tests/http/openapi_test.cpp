#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <httplib.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>

using loyalty::test::Daemon;
using loyalty::test::TestDatabase;

namespace {

nlohmann::json route_table() {
  auto r = loyalty::test::run_command({LOYALTYD_PATH, "--routes"});
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

TEST_CASE("openapi: every route is documented, every documented path is served, roles agree",
          "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db);
  httplib::Client client("127.0.0.1", daemon.port());
  auto res = client.Get("/openapi.json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  auto doc = nlohmann::json::parse(res->body);
  CHECK(doc["openapi"] == "3.1.0");

  std::set<std::string> served, documented;
  for (const auto& route : route_table()) {
    std::string method = lower(route["method"]), path = route["path"];
    served.insert(method + " " + path);
    INFO(method << " " << path);
    REQUIRE(doc["paths"].contains(path));
    REQUIRE(doc["paths"][path].contains(method));
    const auto& op = doc["paths"][path][method];
    CHECK(op["x-roles"] == route["roles"]);
    CHECK(op.contains("responses"));
    CHECK(op.contains("summary"));
  }
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters") continue;
      documented.insert(method + " " + path);
    }
  }
  CHECK(served == documented);
}
