// The USSD channel through the real daemon: the gateway's callback (Africa's Talking form), the
// secret, routing by service code, and the self-service menu from dial to PIN in each language.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <loyalty/core/form.hpp>
#include <loyalty/selfservice/ussd.hpp>

using loyalty::percent_encode;
using loyalty::test::Api;
using loyalty::test::ApiResponse;
using loyalty::test::Daemon;
using loyalty::test::free_coffee_on_every_visit;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

const std::string kSecret = "gateway-secret-0123456789";

std::vector<std::string> ussd_daemon(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--rate-limit",  "0",    "--rate-limit-ip", "0",
                                   "--ussd-secret", kSecret};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

/// One gateway callback; the screen it answered (with its CON/END prefix).
struct Gateway {
  Api& api;
  std::string session = "ATUid_test";
  std::string phone = "+263771234567";
  std::string code = "*123#";
  std::string secret = kSecret;

  ApiResponse post(const std::string& text) const {
    const std::string body = "phoneNumber=" + percent_encode(phone) + "&sessionId=" + session +
                             "&serviceCode=" + percent_encode(code) +
                             "&networkCode=64804&text=" + percent_encode(text);
    return api.send("POST", "/public/ussd/callback?secret=" + percent_encode(secret), body,
                    "application/x-www-form-urlencoded", "", {});
  }

  std::string screen(const std::string& text) const {
    auto res = post(text);
    INFO(res.raw);
    REQUIRE(res.status == 200);
    CHECK(res.content_type.rfind("text/plain", 0) == 0);
    const std::string& s = res.raw;
    REQUIRE((s.rfind("CON ", 0) == 0 || s.rfind("END ", 0) == 0));
    // Every screen fits one USSD message in the GSM 7-bit alphabet.
    const long length = loyalty::selfservice::ussd::gsm7_length(s.substr(4));
    CHECK(length >= 0);
    CHECK(length <= static_cast<long>(loyalty::selfservice::ussd::kScreenLimit));
    return s;
  }
};

ApiResponse post_visit(Api& api, const loyalty::test::TenantCredentials& c,
                       const std::string& phone) {
  return api.send("POST", "/v1/tenants/" + c.tenant_id + "/events",
                  json{{"customer", {{"phone", phone}}}, {"type", "visit"}}.dump(),
                  "application/json", c.pos_key, {{"Idempotency-Key", "visit-1"}});
}

void route_ussd(TestDatabase& db, const std::string& slug, const std::string& code) {
  auto added = loyalty::test::loyaltyctl(db.owner_url(),
                                         {"channel", "add", "--tenant", slug, "--ussd", code});
  INFO(added.out << added.err);
  REQUIRE(added.exit_code == 0);
}

}  // namespace

TEST_CASE("ussd: a missing or wrong secret is refused with 403 and nothing is kept", "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, ussd_daemon());
  Api api(daemon.port());
  loyalty::test::seed_tenant(db, api, "shop");
  route_ussd(db, "shop", "*123#");
  Gateway g{api};
  g.secret = "wrong";
  CHECK(g.post("").status == 403);
  g.secret = "";
  CHECK(g.post("").status == 403);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM channel_sessions") == "0");
  CHECK(daemon.log().find(kSecret) == std::string::npos);
  CHECK(daemon.log().find("wrong") == std::string::npos);
}

TEST_CASE("ussd: an unknown service code ends politely, and a code routes only to its tenant",
          "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, ussd_daemon());
  Api api(daemon.port());
  loyalty::test::seed_tenant(db, api, "shop");
  loyalty::test::seed_tenant(db, api, "other");
  route_ussd(db, "shop", "*123#");
  route_ussd(db, "other", "*123*4#");
  Gateway g{api};
  g.code = "*999#";
  CHECK(g.screen("") == "END This service is not available.");

  // The other tenant's code: the join lands in that tenant only.
  g.code = "*123*4#";
  CHECK(g.screen("").find("Welcome to Tenant other") != std::string::npos);
  CHECK(g.screen("1").rfind("CON Join Tenant other", 0) == 0);
  CHECK(g.screen("1*1").rfind("END Welcome to Tenant other", 0) == 0);
  CHECK(sql_value(db.owner(),
                  "SELECT t.slug || ':' || c.consent_channel FROM customers c "
                  "JOIN tenants t ON t.id = c.tenant_id") == "other:ussd");

  // A second tenant cannot take a code that is routed already.
  auto taken = loyalty::test::loyaltyctl(
      db.owner_url(), {"channel", "add", "--tenant", "shop", "--ussd", "*123*4#"});
  CHECK(taken.exit_code != 0);
  CHECK(taken.err.find("already belongs") != std::string::npos);
}

TEST_CASE("ussd: a stranger joins, switches to Shona, goes back and to the main menu, and opts out",
          "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, ussd_daemon());
  Api api(daemon.port());
  loyalty::test::seed_tenant(db, api, "shop");
  route_ussd(db, "shop", "*123#");
  Gateway g{api};

  CHECK(g.screen("") == "CON Welcome to Tenant shop rewards\n1. Join\n2. Language\n3. Help");
  CHECK(g.screen("7").rfind("CON That is not one of the choices.\nWelcome to Tenant shop", 0) == 0);
  CHECK(g.screen("7*2").find("1. English\n2. chiShona\n3. isiNdebele\n0. Back") !=
        std::string::npos);
  CHECK(g.screen("7*2*2") == "CON Mauya kuTenant shop rewards\n1. Pinda\n2. Mutauro\n3. Rubatsiro");
  CHECK(g.screen("7*2*2*3").find("Dhaira *123#") != std::string::npos);
  CHECK(g.screen("7*2*2*3*0").rfind("CON Mauya", 0) == 0);  // 0 goes back
  CHECK(g.screen("7*2*2*3*0*1").rfind("CON Pinda muTenant shop rewards?", 0) == 0);
  CHECK(g.screen("7*2*2*3*0*1*1") ==
        "END Mauya kuTenant shop rewards! Unowana mibayiro kana uchitenga.");
  CHECK(sql_value(db.owner(),
                  "SELECT status || ':' || language || ':' || consent_channel || ':' "
                  "|| (consent_at IS NOT NULL) FROM customers") == "active:sn:ussd:true");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM channel_sessions") == "0");  // ended

  // A new session: the member's menu in their language; 00 from deep inside goes to the top.
  g.session = "ATUid_second";
  CHECK(g.screen("").rfind("CON Tenant shop rewards\n1. Mapoinzi angu\n2. Mibayiro yangu", 0) == 0);
  CHECK(g.screen("1").rfind("CON Une mapoinzi 0.", 0) == 0);
  CHECK(g.screen("1*00").rfind("CON Tenant shop rewards\n1. Mapoinzi angu", 0) == 0);
  CHECK(g.screen("1*00*5").rfind("CON Misa mameseji ese eTenant shop?", 0) == 0);
  CHECK(g.screen("1*00*5*2") == "END Uchiri nhengo.");
  CHECK(sql_value(db.owner(), "SELECT status FROM customers") == "active");
  g.session = "ATUid_third";
  g.screen("");
  CHECK(g.screen("5*1").rfind("END Hauchazotambira mameseji eTenant shop.", 0) == 0);
  CHECK(sql_value(db.owner(), "SELECT status || ':' || (consent_at IS NULL) FROM customers") ==
        "opted_out:true");
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM audit_log WHERE action = "
                  "'customer.opt_out'") == "1");

  // Opted out: the guest menu again, and joining gives consent anew.
  g.session = "ATUid_fourth";
  CHECK(g.screen("").rfind("CON Mauya kuTenant shop rewards\n1. Pinda", 0) == 0);
  CHECK(g.screen("1*1").rfind("END Mauya", 0) == 0);
  CHECK(sql_value(db.owner(), "SELECT status || ':' || (consent_at IS NOT NULL) FROM customers") ==
        "active:true");
}

TEST_CASE(
    "ussd: a member's reward needing a PIN gets a fresh one-time PIN at the till, in "
    "Ndebele, and an old PIN no longer works",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, ussd_daemon({"--workers", "1"}));
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "cafe");
  route_ussd(db, "cafe", "*123#");
  const std::string base = "/v1/tenants/" + c.tenant_id;
  free_coffee_on_every_visit(api, c);
  Gateway g{api};
  g.screen("");
  g.screen("2");
  g.screen("2*3");  // isiNdebele
  CHECK(g.screen("2*3*1*1").rfind("END Siyakwamukela kuTenant cafe rewards!", 0) == 0);
  auto visit = post_visit(api, c, g.phone);
  INFO(visit.raw);
  REQUIRE(visit.status == 201);
  const std::string issuance = visit.body["issuances"][0]["id"];
  CHECK(loyalty::test::wait_for_value(db.owner(), "SELECT state FROM issuances", "issued") ==
        "issued");
  // The tenant has no WhatsApp number: the notice is cancelled, its PIN never kept, and the
  // customer gets a PIN from the menu instead.
  CHECK(loyalty::test::wait_for_value(
            db.owner(), "SELECT status || ' ' || (payload ? 'pin') FROM notifications",
            "cancelled false") == "cancelled false");

  g.session = "ATUid_pin";
  CHECK(g.screen("").rfind("CON Tenant cafe rewards\n1. Amaphuzu ami", 0) == 0);
  CHECK(g.screen("2") == "CON Imivuzo yakho:\n1. Free coffee\n0. Emuva");
  const std::string detail = g.screen("2*1");
  CHECK(detail.rfind("CON Free coffee\n1. Thola i-PIN\n0. Emuva", 0) == 0);
  CHECK(detail.find("1. Thola i-PIN") != std::string::npos);
  const std::string pin_screen = g.screen("2*1*1");
  INFO(pin_screen);
  REQUIRE(pin_screen.rfind("END I-PIN yeFree coffee: ", 0) == 0);
  const std::string pin = pin_screen.substr(25, 6);
  REQUIRE(pin.find_first_not_of("0123456789") == std::string::npos);
  CHECK(sql_value(db.owner(),
                  "SELECT pin_expires_at > now() + interval '4 minutes' FROM "
                  "issuances") == "t");

  // The fresh PIN redeems at the till.
  auto ok = api.post(base + "/issuances/" + issuance + "/redeem", {{"pin", pin}}, c.pos_key);
  INFO(ok.raw);
  CHECK(ok.status == 200);
  CHECK(ok.body["state"] == "redeemed");
  CHECK(daemon.log().find(pin) == std::string::npos);
  CHECK(daemon.log().find("771234567") == std::string::npos);

  // Nothing left to redeem.
  g.session = "ATUid_after";
  g.screen("");
  CHECK(g.screen("3").rfind("CON Awukalamvuzo.", 0) == 0);
}

TEST_CASE("ussd: an expired fresh PIN is refused as pin-expired", "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, ussd_daemon({"--workers", "1"}));
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "late");
  route_ussd(db, "late", "*123#");
  const std::string base = "/v1/tenants/" + c.tenant_id;
  free_coffee_on_every_visit(api, c);
  Gateway g{api};
  g.screen("1*1");
  auto visit = post_visit(api, c, g.phone);
  REQUIRE(visit.status == 201);
  const std::string issuance = visit.body["issuances"][0]["id"];
  loyalty::test::wait_for_value(db.owner(), "SELECT state FROM issuances", "issued");
  g.session = "ATUid_pin";
  const std::string pin_screen = g.screen("3*1");
  REQUIRE(pin_screen.rfind("END PIN for Free coffee: ", 0) == 0);
  const std::string pin = pin_screen.substr(25, 6);
  sql_value(db.owner(), "UPDATE issuances SET pin_expires_at = now() - interval '1 second'");
  auto late = api.post(base + "/issuances/" + issuance + "/redeem", {{"pin", pin}}, c.pos_key);
  INFO(late.raw);
  CHECK(late.status == 409);
  CHECK(late.body["type"] == "https://loyalty.example/problems/pin-expired");
}

TEST_CASE(
    "ussd: the end-of-session notification removes the session's state at once, and needs "
    "the secret",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, ussd_daemon());
  Api api(daemon.port());
  loyalty::test::seed_tenant(db, api, "shop");
  route_ussd(db, "shop", "*123#");
  Gateway g{api};
  g.session = "ATUid_ended";
  g.screen("");
  REQUIRE(sql_value(db.owner(), "SELECT count(*) FROM channel_sessions") == "1");
  const std::string body =
      "date=2026-12-01+20%3A00%3A00&sessionId=ATUid_ended&serviceCode=%2A123%23&networkCode=64804"
      "&phoneNumber=%2B263771234567&status=Incomplete&cost=KES+0.00&durationInMillis=12000"
      "&hopsCount=1&input=&lastAppResponse=CON+...&errorMessage=";
  auto wrong = api.send("POST", "/public/ussd/events?secret=wrong", body,
                        "application/x-www-form-urlencoded", "", {});
  CHECK(wrong.status == 403);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM channel_sessions") == "1");
  auto ended = api.send("POST", "/public/ussd/events?secret=" + kSecret, body,
                        "application/x-www-form-urlencoded", "", {});
  INFO(ended.raw);
  CHECK(ended.status == 200);
  CHECK(ended.body["session_removed"] == true);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM channel_sessions") == "0");
  // Told twice, or about a session never seen: still 200, nothing to remove.
  auto again = api.send("POST", "/public/ussd/events?secret=" + kSecret, body,
                        "application/x-www-form-urlencoded", "", {});
  CHECK(again.status == 200);
  CHECK(again.body["session_removed"] == false);
  CHECK(daemon.log().find("771234567") == std::string::npos);
}

TEST_CASE(
    "ussd: with an address allow-list, a callback from elsewhere is refused even with the "
    "secret",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, ussd_daemon({"--ussd-allowed-addresses", "192.0.2.0/24"}));
  Api api(daemon.port());
  loyalty::test::seed_tenant(db, api, "shop");
  route_ussd(db, "shop", "*123#");
  Gateway g{api};
  auto refused = g.post("");
  CHECK(refused.status == 403);
  CHECK(refused.body["detail"] == "the callback did not come from an allowed address");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM channel_sessions") == "0");

  // The test's own address allowed: served.
  TestDatabase db2;
  auto allowed =
      Daemon::over(db2, ussd_daemon({"--ussd-allowed-addresses", "192.0.2.0/24, 127.0.0.1"}));
  Api api2(allowed.port());
  loyalty::test::seed_tenant(db2, api2, "shop");
  route_ussd(db2, "shop", "*123#");
  Gateway g2{api2};
  CHECK(g2.screen("").rfind("CON Welcome to Tenant shop rewards", 0) == 0);
}

TEST_CASE(
    "ussd: a malformed callback gets a problem naming the field, and an oversized one 413, "
    "nothing kept",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, ussd_daemon());
  Api api(daemon.port());
  loyalty::test::seed_tenant(db, api, "shop");
  route_ussd(db, "shop", "*123#");
  auto send = [&](const std::string& body) {
    return api.send("POST", "/public/ussd/callback?secret=" + percent_encode(kSecret), body,
                    "application/x-www-form-urlencoded", "", {});
  };
  auto missing = send("sessionId=s1&serviceCode=%2A123%23&text=");
  CHECK(missing.status == 400);
  CHECK(missing.body["type"] == "https://loyalty.example/problems/malformed-callback");
  CHECK(missing.body["errors"][0]["pointer"] == "/phoneNumber");
  // %FF decodes to a byte that is not UTF-8; %0A is a line break inside the inputs.
  auto not_utf8 = send("sessionId=s1&serviceCode=%2A123%23&phoneNumber=%2B263771234567&text=1%FF");
  CHECK(not_utf8.status == 400);
  CHECK(not_utf8.body["errors"][0]["pointer"] == "/text");
  auto control = send("sessionId=s1&serviceCode=%2A123%23&phoneNumber=%2B263771234567&text=1%0A2");
  CHECK(control.status == 400);
  auto huge = send("sessionId=s1&serviceCode=%2A123%23&phoneNumber=%2B263771234567&text=" +
                   std::string(5000, '1'));
  CHECK(huge.status == 413);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM channel_sessions") == "0");
  // A number that is no phone number ends politely.
  auto bad_phone = send("sessionId=s1&serviceCode=%2A123%23&phoneNumber=12&text=");
  CHECK(bad_phone.status == 200);
  CHECK(bad_phone.raw.rfind("END ", 0) == 0);
}

TEST_CASE(
    "ussd: Redeem leads on to the rewards to claim with points, and a claim spends them and "
    "ends on the code, or on a fresh PIN for a reward that needs one",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, ussd_daemon());
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "cafe");
  route_ussd(db, "cafe", "*123#");
  const std::string base = "/v1/tenants/" + c.tenant_id;
  auto reward = [&](const std::string& name, int price, bool pin) {
    auto made = api.post(base + "/reward-catalog",
                         {{"name", name},
                          {"type", "voucher"},
                          {"cost", "1.00"},
                          {"currency", "USD"},
                          {"validity_days", 30},
                          {"points_price", price},
                          {"requires_pin", pin},
                          {"config", {{"source", "generated"}, {"prefix", "PTS-"}}}},
                         c.manager_token);
    INFO(made.raw);
    REQUIRE(made.status == 201);
  };
  reward("Soda", 10, false);
  reward("Cake", 20, true);
  reward("Lunch", 500, false);
  Gateway g{api};
  g.screen("");
  g.screen("1");
  REQUIRE(g.screen("1*1").rfind("END Welcome to Tenant cafe rewards!", 0) == 0);
  auto granted = loyalty::test::loyaltyctl(
      db.owner_url(), {"points", "adjust", "--tenant", "cafe", "--customer", g.phone, "--points",
                       "35", "--reason", "welcome"});
  INFO(granted.out << granted.err);
  REQUIRE(granted.exit_code == 0);

  g.session = "ATUid_claim";
  CHECK(g.screen("") ==
        "CON Tenant cafe rewards\n1. My points\n2. My rewards\n3. Redeem\n4. Language\n5. Stop "
        "messages\n6. Help");
  CHECK(g.screen("3") == "CON Use which reward?\n1. Spend points\n0. Back");
  CHECK(g.screen("3*1") ==
        "CON Rewards for points:\n1. Soda 10\n2. Cake 20\n3. Lunch 500\n0. Back");
  CHECK(g.screen("3*1*3") == "CON Lunch costs 500 points. You have 35.\n0. Back");
  CHECK(g.screen("3*1*3*0*1") == "CON Spend 10 points on Soda? You have 35.\n1. Yes\n2. No");
  // No goes back to the list; Yes claims.
  CHECK(g.screen("3*1*3*0*1*2").rfind("CON Rewards for points:", 0) == 0);
  const std::string soda = g.screen("3*1*3*0*1*2*1*1");
  const std::string code = sql_value(db.owner(), "SELECT code FROM issuances");
  REQUIRE(code.rfind("PTS-", 0) == 0);
  CHECK(soda == "END You spent 10 points on Soda. You have 25 left.\nCode: " + code);
  CHECK(sql_value(db.owner(), "SELECT points_balance FROM customers") == "25");

  // The customer's own reward comes first now; the PIN reward's claim ends on a fresh PIN that
  // redeems at the till.
  g.session = "ATUid_pin";
  g.screen("");
  CHECK(g.screen("3") == "CON Use which reward?\n1. Soda\n2. Spend points\n0. Back");
  CHECK(g.screen("3*2*2") == "CON Spend 20 points on Cake? You have 25.\n1. Yes\n2. No");
  const std::string cake = g.screen("3*2*2*1");
  INFO(cake);
  REQUIRE(cake.rfind("END Spent 20 points.\nPIN for Cake: ", 0) == 0);
  const std::string pin =
      cake.substr(std::string("END Spent 20 points.\nPIN for Cake: ").size(), 6);
  REQUIRE(pin.find_first_not_of("0123456789") == std::string::npos);
  CHECK(sql_value(db.owner(), "SELECT points_balance FROM customers") == "5");
  const std::string cake_id =
      sql_value(db.owner(),
                "SELECT i.id FROM issuances i JOIN rewards r ON r.id = i.reward_id WHERE "
                "r.name = 'Cake'");
  auto redeemed = api.post(base + "/issuances/" + cake_id + "/redeem", {{"pin", pin}}, c.pos_key);
  INFO(redeemed.raw);
  CHECK(redeemed.status == 200);
  CHECK(daemon.log().find(pin) == std::string::npos);
  CHECK(daemon.log().find(code) == std::string::npos);

  // A claim the balance does not afford is refused at the last step too (the screen offered
  // no 1, but a gateway may still send one).
  g.session = "ATUid_short";
  g.screen("");
  CHECK(g.screen("3*2*3") == "CON Lunch costs 500 points. You have 5.\n0. Back");
  CHECK(g.screen("3*2*3*1") == "END Lunch costs 500 points. You have 5.");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances") == "2");
}
