// loyaltyctl points adjust and history: the operator's view of a customer's points.
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
    "points cli: adjust adds a lot that never expires, takes points back from the lot expiring "
    "first, never below zero, and history shows each with its reason",
    "[cli]") {
  TestDatabase db;
  loyalty::tenants::CreateTenantRequest req;
  req.name = "Adjust Shop";
  req.slug = "adjust-shop";
  auto tenant = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
  loyalty::customers::NewCustomer who;
  who.phone = "0771 234 567";
  who.consent = true;
  auto customer = loyalty::customers::create_customer(db.app(), tenant, who, Actor::system());

  auto up = loyaltyctl(db.owner_url(),
                       {"points", "adjust", "--tenant", "adjust-shop", "--customer", "0771 234 567",
                        "--points", "25", "--reason", "goodwill: late delivery"});
  INFO(up.err);
  CHECK(up.exit_code == 0);
  CHECK(up.out == "adjusted +25 points: balance 25\n");
  auto down = loyaltyctl(db.owner_url(),
                         {"points", "adjust", "--tenant", "adjust-shop", "--customer", customer.id,
                          "--points", "-10", "--reason", "duplicate credit", "--json"});
  INFO(down.err);
  CHECK(down.exit_code == 0);
  CHECK(json::parse(down.out) == json{{"points", -10}, {"balance", 15}, {"lot_id", nullptr}});

  // Below zero: refused with one line, nothing changed.
  auto refused =
      loyaltyctl(db.owner_url(), {"points", "adjust", "--tenant", "adjust-shop", "--customer",
                                  customer.id, "--points", "-16", "--reason", "too much"});
  CHECK(refused.exit_code != 0);
  CHECK(refused.out.empty());
  CHECK(refused.err.find("cannot go below zero") != std::string::npos);
  CHECK(std::count(refused.err.begin(), refused.err.end(), '\n') == 1);
  auto no_reason =
      loyaltyctl(db.owner_url(), {"points", "adjust", "--tenant", "adjust-shop", "--customer",
                                  customer.id, "--points", "5", "--reason", ""});
  CHECK(no_reason.exit_code != 0);
  CHECK(no_reason.err.find("/reason") != std::string::npos);
  CHECK(sql_value(db.owner(), "SELECT points_balance FROM customers") == "15");
  CHECK(sql_value(db.owner(),
                  "SELECT amount || ' ' || remaining || ' ' || "
                  "coalesce(expires_at::text, 'never') FROM points_lots") == "25 15 never");

  auto history = loyaltyctl(db.owner_url(), {"points", "history", "--tenant", "adjust-shop",
                                             "--customer", customer.id, "--json"});
  INFO(history.err);
  REQUIRE(history.exit_code == 0);
  auto h = json::parse(history.out);
  CHECK(h["balance"] == 15);
  REQUIRE(h["items"].size() == 2);
  CHECK(h["items"][0]["kind"] == "adjustment");
  CHECK(h["items"][0]["points"] == -10);
  CHECK(h["items"][0]["reason"] == "duplicate credit");
  CHECK(h["items"][0]["actor"] == "operator");
  CHECK(h["items"][1]["reason"] == "goodwill: late delivery");
  CHECK(h["items"][1]["lot"]["expires_at"].is_null());
  auto text = loyaltyctl(
      db.owner_url(), {"points", "history", "--tenant", "adjust-shop", "--customer", customer.id});
  CHECK(text.out.rfind("balance 15 (spendable 15)\n", 0) == 0);
  CHECK(text.out.find("adjustment      -10  lot") != std::string::npos);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM audit_log WHERE action = 'points.adjust'") ==
        "2");
}
