// loyaltyctl customer update|consents and segments: the operator's view of profiles and segments.
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>
#include <loyalty/customers/customers.hpp>
#include <loyalty/tenants/tenants.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>

using loyalty::Actor;
using loyalty::test::loyaltyctl;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

TEST_CASE(
    "segments cli: customer update patches a profile, segments create, recompute, members, "
    "show, list and delete work on it, and bad input is refused on stderr with its pointer",
    "[cli]") {
  TestDatabase db;
  loyalty::tenants::CreateTenantRequest req;
  req.name = "Segment Shop";
  req.slug = "segment-shop";
  auto tenant = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
  for (const char* phone : {"0771 234 567", "0772 000 111", "0773 000 222"}) {
    loyalty::customers::NewCustomer who;
    who.phone = phone;
    loyalty::customers::create_customer(db.app(), tenant, who, Actor::system());
  }
  auto run = [&](std::vector<std::string> args) { return loyaltyctl(db.owner_url(), args); };

  auto created = run({"segments", "create", "--tenant", "segment-shop", "--name", "harare",
                      "--conditions", R"({"==": [{"var": "customer.city"}, "Harare"]})", "--json"});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  CHECK(json::parse(created.out)["name"] == "harare");

  auto updated =
      run({"customer", "update", "--tenant", "segment-shop", "--customer", "0771 234 567",
           "--attributes", R"({"city": "Harare"})", "--add-tag", "vip", "--add-tag", "coffee",
           "--language", "sn", "--consent", "given", "--channel", "pos", "--json"});
  INFO(updated.err);
  REQUIRE(updated.exit_code == 0);
  auto customer = json::parse(updated.out);
  CHECK(customer["attributes"] == json{{"city", "Harare"}});
  CHECK(customer["tags"] == json{"vip", "coffee"});
  CHECK(customer["segments"] == json{"harare"});
  CHECK(customer["language"] == "sn");
  CHECK(customer["consent"]["channel"] == "pos");
  auto removed = run({"customer", "update", "--tenant", "segment-shop", "--customer",
                      "0771 234 567", "--remove-tag", "vip"});
  CHECK(removed.exit_code == 0);
  CHECK(removed.out == "updated " + customer["id"].get<std::string>() +
                           " tags=coffee segments=harare consent=given\n");
  auto consents = run(
      {"customer", "consents", "--tenant", "segment-shop", "--customer", "0771 234 567", "--json"});
  REQUIRE(consents.exit_code == 0);
  auto history = json::parse(consents.out);
  REQUIRE(history.size() == 1);
  CHECK(history[0]["consent"] == "given");
  CHECK(history[0]["channel"] == "pos");
  CHECK(history[0]["actor_type"] == "operator");

  // Set behind the segments' back, then recomputed in batches of one.
  sql_value(db.owner(),
            "UPDATE customers SET attributes = '{\"city\": \"Harare\"}' WHERE phone = "
            "'+263772000111' RETURNING 1");
  auto recomputed =
      run({"segments", "recompute", "--tenant", "segment-shop", "--batch", "1", "--json"});
  INFO(recomputed.err);
  REQUIRE(recomputed.exit_code == 0);
  CHECK(json::parse(recomputed.out) == json{{"customers", 3}, {"changed", 1}, {"batches", 3}});
  auto members = run({"segments", "members", "--tenant", "segment-shop", "harare", "--json"});
  REQUIRE(members.exit_code == 0);
  auto listed = json::parse(members.out);
  REQUIRE(listed.size() == 2);
  CHECK(listed[0]["phone"] == "+263771234567");
  CHECK(listed[1]["phone"] == "+263772000111");
  auto shown = run({"segments", "show", "--tenant", "segment-shop", "harare", "--json"});
  CHECK(json::parse(shown.out)["conditions"] ==
        json::parse(R"({"==": [{"var": "customer.city"}, "Harare"]})"));
  auto all = run({"segments", "list", "--tenant", "segment-shop", "--json"});
  CHECK(json::parse(all.out).size() == 1);

  auto bad = run({"segments", "create", "--tenant", "segment-shop", "--name", "bad", "--conditions",
                  R"({"nope": [1]})"});
  CHECK(bad.exit_code != 0);
  CHECK(bad.out.empty());
  CHECK(bad.err.find("/conditions/nope") != std::string::npos);
  // One line, then the field at fault on a line of its own.
  CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 2);
  auto bad_patch = run({"customer", "update", "--tenant", "segment-shop", "--customer",
                        "0771 234 567", "--birthday", "1990-13-01"});
  CHECK(bad_patch.exit_code != 0);
  CHECK(bad_patch.err.find("/birthday") != std::string::npos);
  CHECK(std::count(bad_patch.err.begin(), bad_patch.err.end(), '\n') == 2);

  auto deleted = run({"segments", "delete", "--tenant", "segment-shop", "harare"});
  CHECK(deleted.exit_code == 0);
  CHECK(deleted.out == "deleted harare\n");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM customers WHERE segments <> '{}'") == "0");
  CHECK(run({"segments", "show", "--tenant", "segment-shop", "harare"}).exit_code != 0);
}
