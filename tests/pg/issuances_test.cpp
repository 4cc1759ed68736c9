// Issuances against the real database: redemption under concurrency, PINs, expired codes.
#include "pg/shop.hpp"

using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using namespace loyalty::test::shop;

TEST_CASE("issuances: 100 concurrent redemptions of one issuance → exactly one succeeds", "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db,
                        {{"name", "voucher"},
                         {"type", "voucher"},
                         {"cost", "5.00"},
                         {"currency", "USD"},
                         {"config", {{"source", "generated"}, {"length", 8}}}},
                        "100.00", rule("voucher"));
  auto r = process(*shop, purchase("0771 234 567", "one"));
  auto iss = nlohmann::json::parse(r.body)["issuances"][0];
  std::string id = iss["id"], code = iss["code"];
  CHECK(iss["state"] == "reserved");
  // Not yet issued: the till's code is not redeemable.
  CHECK_THROWS_WITH(loyalty::issuances::redeem_by_code(*shop->app, shop->tenant_id, code,
                                                       std::nullopt, loyalty::Actor::system()),
                    Catch::Contains("reserved"));
  REQUIRE(loyalty::issuances::issue_event(*shop->app, shop->tenant_id,
                                          iss["event_id"].get<std::string>()) == 1);
  std::atomic<int> ok{0}, refused{0};
  concurrently(100, 20, [&](int) {
    try {
      loyalty::issuances::redeem_by_code(*shop->app, shop->tenant_id, code, std::nullopt,
                                         loyalty::Actor::system());
      ++ok;
    } catch (const loyalty::Error& e) {
      if (e.type() == "code-already-redeemed") ++refused;
    }
  });
  CHECK(ok == 1);
  CHECK(refused == 99);
  CHECK(sql_value(db.owner(), "SELECT spent_minor FROM budgets") == "500");
  // Illegal transitions answer with the current state.
  try {
    loyalty::issuances::cancel(*shop->app, shop->tenant_id, id, "late", loyalty::Actor::system());
    FAIL("a redeemed issuance was cancelled");
  } catch (const loyalty::Error& e) {
    CHECK(e.type() == "invalid-transition");
    CHECK(std::string(e.what()).find("redeemed") != std::string::npos);
  }
  require_ledger_ok(db);
}

TEST_CASE("issuances: a PIN reward is redeemed only with the PIN sent to the customer", "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db,
                        {{"name", "free-coffee"},
                         {"type", "physical"},
                         {"cost", "2.00"},
                         {"currency", "USD"},
                         {"config", {{"stock", 100}}},
                         {"requires_pin", true}},
                        "100.00", rule("free-coffee"));
  loyalty::customers::NewCustomer who;
  who.phone = "0771 234 567";
  who.consent = true;
  loyalty::customers::create_customer(*shop->app, shop->tenant_id, who, loyalty::Actor::system());
  auto earn = [&](const std::string& key) {
    auto r = process(*shop, purchase("0771 234 567", key));
    auto iss = nlohmann::json::parse(r.body)["issuances"][0];
    CHECK(iss["pin_required"] == true);
    REQUIRE(loyalty::issuances::issue_event(*shop->app, shop->tenant_id,
                                            iss["event_id"].get<std::string>()) == 1);
    // What the customer's WhatsApp message carries; the database keeps only a hash.
    std::string pin = sql_value(db.owner(),
                                "SELECT payload->>'pin' FROM notifications WHERE payload->>"
                                "'issuance_id' = '" +
                                    iss["id"].get<std::string>() + "'");
    REQUIRE(pin.size() == 6);
    CHECK(sql_value(db.owner(),
                    "SELECT count(*) FROM issuances WHERE pin_hash LIKE '%" + pin + "%'") == "0");
    return std::pair{iss["id"].get<std::string>(), pin};
  };
  auto refusal = [&](const std::string& id, std::optional<std::string> pin) {
    try {
      loyalty::issuances::redeem(*shop->app, shop->tenant_id, id, std::nullopt, pin,
                                 loyalty::Actor::system());
    } catch (const loyalty::Error& e) {
      return e;
    }
    FAIL("redeemed with PIN " << pin.value_or("(none)"));
    throw;
  };
  auto wrong = [](const std::string& pin) { return pin == "000000" ? "111111" : "000000"; };

  auto [id, pin] = earn("one");
  CHECK(refusal(id, std::nullopt).type() == "pin-required");
  auto mismatch = refusal(id, wrong(pin));
  CHECK(mismatch.type() == "pin-mismatch");
  CHECK(mismatch.extensions() ==
        std::vector<std::pair<std::string, std::string>>{{"attempts_left", "4"}});
  // The wrong attempt was kept although the redemption failed.
  CHECK(sql_value(db.owner(), "SELECT pin_attempts FROM issuances WHERE id = '" + id + "'") == "1");
  auto done = loyalty::issuances::redeem(*shop->app, shop->tenant_id, id, std::nullopt, pin,
                                         loyalty::Actor::system());
  CHECK(done.state == "redeemed");
  // One time: the same PIN again finds the reward redeemed.
  CHECK(refusal(id, pin).type() == "invalid-transition");

  // Twenty concurrent guesses: at most five are counted, then the PIN is locked for good.
  auto [locked_id, locked_pin] = earn("two");
  std::atomic<int> mismatches{0}, locks{0};
  concurrently(20, 10, [&](int) {
    try {
      loyalty::issuances::redeem(*shop->app, shop->tenant_id, locked_id, std::nullopt,
                                 std::string(wrong(locked_pin)), loyalty::Actor::system());
    } catch (const loyalty::Error& e) {
      if (e.type() == "pin-mismatch") ++mismatches;
      if (e.type() == "pin-locked") ++locks;
    }
  });
  CHECK(mismatches == 4);
  CHECK(locks == 16);
  CHECK(refusal(locked_id, locked_pin).type() == "pin-locked");
  CHECK(loyalty::issuances::get_issuance(*shop->app, shop->tenant_id, locked_id).state == "issued");
  require_ledger_ok(db);
}

TEST_CASE("issuances: a voucher past its expiry is refused code-expired and stays issued", "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db,
                        {{"name", "voucher"},
                         {"type", "voucher"},
                         {"cost", "5.00"},
                         {"currency", "USD"},
                         {"config", {{"source", "generated"}, {"length", 8}}}},
                        "100.00", rule("voucher"));
  auto iss =
      nlohmann::json::parse(process(*shop, purchase("0771 234 567", "one")).body)["issuances"][0];
  const std::string id = iss["id"], code = iss["code"];
  REQUIRE(loyalty::issuances::issue_event(*shop->app, shop->tenant_id,
                                          iss["event_id"].get<std::string>()) == 1);
  // The expiry sweep has not run yet: the issuance is still 'issued', its expiry past.
  sql_value(db.owner(),
            "UPDATE issuances SET expires_at = now() - interval '1 minute' WHERE id = '" + id +
                "' RETURNING 1");
  try {
    loyalty::issuances::redeem_by_code(*shop->app, shop->tenant_id, code, std::nullopt,
                                       loyalty::Actor::system());
    FAIL("an expired code was redeemed");
  } catch (const loyalty::Error& e) {
    CHECK(e.type() == "code-expired");
    CHECK(e.code() == loyalty::ErrorCode::conflict);
  }
  // By id it is the issuance that has expired.
  try {
    loyalty::issuances::redeem(*shop->app, shop->tenant_id, id, std::nullopt, std::nullopt,
                               loyalty::Actor::system());
    FAIL("an expired issuance was redeemed");
  } catch (const loyalty::Error& e) {
    CHECK(e.type() == "issuance-expired");
  }
  CHECK(loyalty::issuances::get_issuance(*shop->app, shop->tenant_id, id).state == "issued");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM outbox WHERE event_type = 'reward.redeemed'") ==
        "0");
  CHECK(sql_value(db.owner(), "SELECT spent_minor FROM budgets") == "0");
  require_ledger_ok(db);
}
