// The WhatsApp channel through the real daemon: Meta's handshake, signed webhooks (refused
// unsigned), routing by phone_number_id, the conversation in every language, a reward notice
// with its code and PIN through the fake Graph API (support/fake_graph checks every body
// against Meta's shapes and limits), templates outside the 24-hour window, retries, permanent
// failures, status updates, opt-out, and redeliveries answered once.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/fake_graph.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <loyalty/auth/hub_signature.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

using loyalty::test::Api;
using loyalty::test::ApiResponse;
using loyalty::test::Daemon;
using loyalty::test::FakeGraph;
using loyalty::test::free_coffee_on_every_visit;
using loyalty::test::GraphRequest;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using loyalty::test::wait_for_value;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kAppSecret = "meta-app-secret-0123456789abcdef";
const std::string kVerifyToken = "verify-me-please";
const std::string kNumber = "106540352242922";
const std::string kToken = "EAAG-graph-token-for-tests";
const std::string kCustomer = "263771234567";  // a wa_id: digits, no '+'

std::string temp_file(const std::string& name, const std::string& content) {
  auto path = std::filesystem::temp_directory_path() /
              ("loyalty-wa-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(path) << content << "\n";
  return path.string();
}

/// The daemon, a tenant "shop" whose number kNumber sends through `graph`, and helpers to play
/// Meta's side of the conversation.
struct WhatsApp {
  TestDatabase db;
  FakeGraph graph{kToken};
  Daemon daemon;
  Api api;
  loyalty::test::TenantCredentials shop;
  int sequence = 0;

  explicit WhatsApp(std::vector<std::string> channel_extra = {},
                    std::vector<std::string> daemon_extra = {})
      : daemon(Daemon::over(db, daemon_args(daemon_extra))),
        api(daemon.port()),
        shop(loyalty::test::seed_tenant(db, api, "shop")) {
    route("shop", kNumber, channel_extra);
  }

  std::vector<std::string> daemon_args(std::vector<std::string> extra) {
    std::vector<std::string> args = {"--rate-limit",
                                     "0",
                                     "--rate-limit-ip",
                                     "0",
                                     "--workers",
                                     "1",
                                     "--whatsapp-app-secret",
                                     kAppSecret,
                                     "--whatsapp-verify-token",
                                     kVerifyToken,
                                     "--whatsapp-api-base",
                                     graph.api_base(),
                                     "--notice-retry-schedule",
                                     "100ms,200ms,300ms"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  void route(const std::string& slug, const std::string& number,
             std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"channel",
                                     "add",
                                     "--tenant",
                                     slug,
                                     "--whatsapp",
                                     number,
                                     "--access-token-file",
                                     temp_file(number + ".token", kToken)};
    args.insert(args.end(), extra.begin(), extra.end());
    auto added = loyalty::test::loyaltyctl(db.owner_url(), args);
    INFO(added.out << added.err);
    REQUIRE(added.exit_code == 0);
  }

  ApiResponse post(const std::string& body, const std::string& secret = kAppSecret) {
    httplib::Headers headers;
    if (!secret.empty()) {
      headers.emplace("X-Hub-Signature-256", loyalty::auth::compute_hub_signature(secret, body));
    }
    return api.send("POST", "/public/wa/webhook", body, "application/json", "", headers);
  }

  /// What Meta POSTs when `from` sends one message to `number`.
  static json envelope(const std::string& number, const json& value) {
    json v = value;
    v["messaging_product"] = "whatsapp";
    v["metadata"] = {{"display_phone_number", "15550783881"}, {"phone_number_id", number}};
    return {{"object", "whatsapp_business_account"},
            {"entry",
             {{{"id", "102290129340398"}, {"changes", {{{"value", v}, {"field", "messages"}}}}}}}};
  }

  std::string next_wamid() { return "wamid.TEST" + std::to_string(++sequence); }

  static json message(const std::string& from, const std::string& wamid, json fields) {
    json m = {{"from", from}, {"id", wamid}, {"timestamp", std::to_string(std::time(nullptr))}};
    m.update(fields);
    return m;
  }

  /// The customer types `text`; returns the wamid.
  std::string say(const std::string& text, const std::string& from = kCustomer,
                  const std::string& number = kNumber) {
    auto wamid = next_wamid();
    auto body = envelope(
        number,
        {{"contacts", {{{"profile", {{"name", "Tendai"}}}, {"wa_id", from}}}},
         {"messages", {message(from, wamid, {{"type", "text"}, {"text", {{"body", text}}}})}}});
    auto res = post(body.dump());
    INFO(res.raw);
    REQUIRE(res.status == 200);
    return wamid;
  }

  /// The customer taps a button or a list row of an earlier answer.
  void pick(const std::string& id, const std::string& title,
            const std::string& kind = "list_reply") {
    auto body = envelope(
        kNumber,
        {{"messages",
          {message(kCustomer, next_wamid(),
                   {{"type", "interactive"},
                    {"interactive", {{"type", kind}, {kind, {{"id", id}, {"title", title}}}}}})}}});
    REQUIRE(post(body.dump()).status == 200);
  }

  /// Waits for the fake Graph API's next request and returns its body.
  json sent() {
    const std::size_t want = seen_ + 1;
    REQUIRE(graph.wait_for(want, 20s));
    auto requests = graph.requests();
    seen_ = want;
    for (const auto& v : graph.violations()) UNSCOPED_INFO(v);
    CHECK(graph.violations().empty());
    return json::parse(requests[want - 1].body);
  }

  /// The text a customer reads in a sent message, whatever its kind.
  static std::string text_of(const json& body) {
    const std::string type = body.value("type", "");
    if (type == "text") return body["text"]["body"];
    if (type == "interactive") return body["interactive"]["body"]["text"];
    return body.dump();
  }

  std::string reply_to(const std::string& text) {
    say(text);
    return text_of(sent());
  }

  std::size_t requests_so_far() const { return seen_; }

 private:
  std::size_t seen_ = 0;
};

ApiResponse visit(Api& api, const loyalty::test::TenantCredentials& c, const std::string& phone,
                  const std::string& key) {
  return api.send("POST", "/v1/tenants/" + c.tenant_id + "/events",
                  json{{"customer", {{"phone", phone}}}, {"type", "visit"}}.dump(),
                  "application/json", c.pos_key, {{"Idempotency-Key", key}});
}

}  // namespace

TEST_CASE("whatsapp: the verification handshake echoes the challenge; a wrong token gets 403",
          "[http]") {
  WhatsApp wa;
  auto ok = wa.api.get("/public/wa/webhook?hub.mode=subscribe&hub.verify_token=" + kVerifyToken +
                       "&hub.challenge=1158201444");
  CHECK(ok.status == 200);
  CHECK(ok.raw == "1158201444");
  CHECK(ok.content_type.rfind("text/plain", 0) == 0);
  auto wrong = wa.api.get(
      "/public/wa/webhook?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444");
  CHECK(wrong.status == 403);
  CHECK(wrong.body["type"].get<std::string>().find("whatsapp-verification-refused") !=
        std::string::npos);
  CHECK(wa.api.get("/public/wa/webhook?hub.mode=subscribe&hub.challenge=1").status == 403);
  // The challenge is echoed only when it is a plain token, never markup.
  CHECK(wa.api
            .get("/public/wa/webhook?hub.mode=subscribe&hub.verify_token=" + kVerifyToken +
                 "&hub.challenge=%3Cscript%3E")
            .status == 400);
}

TEST_CASE("whatsapp: an unsigned or mis-signed webhook is refused with 401 and nothing is kept",
          "[http]") {
  WhatsApp wa;
  auto body =
      WhatsApp::envelope(kNumber,
                         {{"messages",
                           {WhatsApp::message(kCustomer, "wamid.X",
                                              {{"type", "text"}, {"text", {{"body", "JOIN"}}}})}}})
          .dump();
  CHECK(wa.post(body, "").status == 401);
  CHECK(wa.post(body, "another-app-secret-0123456789").status == 401);
  // A valid signature over other bytes: the body was changed on the way.
  auto headers = httplib::Headers{
      {"X-Hub-Signature-256", loyalty::auth::compute_hub_signature(kAppSecret, body + " ")}};
  CHECK(wa.api.send("POST", "/public/wa/webhook", body, "application/json", "", headers).status ==
        401);
  // Not JSON at all, unsigned: refused before it is read.
  auto junk = wa.post("{\"object\":", "");
  CHECK(junk.status == 401);
  CHECK(sql_value(wa.db.owner(), "SELECT count(*) FROM whatsapp_inbox") == "0");
  CHECK(sql_value(wa.db.owner(), "SELECT count(*) FROM customers") == "0");
  // Signed but not a WhatsApp webhook: a clear refusal.
  auto signed_junk = wa.post("{\"object\":\"page\",\"entry\":[]}");
  CHECK(signed_junk.status == 422);
  CHECK(signed_junk.body["type"].get<std::string>().find("whatsapp-webhook-invalid") !=
        std::string::npos);
}

TEST_CASE("whatsapp: JOIN enrols with consent, BALANCE and LANG answer in the customer's language",
          "[http]") {
  WhatsApp wa;
  auto welcome = wa.reply_to("join");
  CHECK(welcome.find("Welcome to Tenant shop rewards!") != std::string::npos);
  // A member is not told how to join.
  CHECK(welcome.find("Send BALANCE for your points") != std::string::npos);
  CHECK(welcome.find("JOIN") == std::string::npos);
  CHECK(sql_value(wa.db.owner(),
                  "SELECT status || ' ' || consent_channel || ' ' || (consent_at IS NOT NULL) "
                  "FROM customers WHERE phone = '+263771234567'") == "active whatsapp true");
  auto balance = wa.reply_to("Balance");
  CHECK(balance == "You have 0 points.");
  // Shona, by command word and by the list's row.
  auto lang = wa.reply_to("LANG");
  CHECK(lang == "Choose a language:");
  wa.pick("lang:sn", "chiShona");
  CHECK(WhatsApp::text_of(wa.sent()) == "Uchatambira mameseji muchiShona.");
  CHECK(wa.reply_to("mapoinzi") == "Une mapoinzi 0.");
  // Ndebele by its own word for language, then its balance word.
  CHECK(wa.reply_to("ULIMI nd") == "Uzathola imilayezo ngesiNdebele.");
  CHECK(wa.reply_to("amaphuzu") == "Ulamaphuzu angu 0.");
  // Something that is not a command: help, in the customer's language, with the menu.
  auto help = wa.reply_to("what?");
  CHECK(help.find("Thumela AMAPHUZU") != std::string::npos);
  CHECK(help.find("JOYINA") == std::string::npos);
}

TEST_CASE(
    "whatsapp: JOIN with a referral code links the new member to its owner, an unknown code is "
    "left out",
    "[http]") {
  WhatsApp wa;
  auto ann = wa.api.post("/v1/tenants/" + wa.shop.tenant_id + "/customers",
                         {{"phone", "0772 000 001"}, {"consent", true}}, wa.shop.pos_key);
  REQUIRE(ann.status == 201);
  const std::string code = ann.body["referral_code"];
  auto welcome = wa.reply_to("JOIN " + code);
  CHECK(welcome.find("Welcome to Tenant shop rewards!") != std::string::npos);
  CHECK(welcome.find("not one of") == std::string::npos);
  CHECK(sql_value(wa.db.owner(),
                  "SELECT a.phone || ' referred ' || b.phone || ' on ' || r.channel || ' open ' || "
                  "b.referral_open FROM referrals r JOIN customers a ON a.id = r.referrer_id "
                  "JOIN customers b ON b.id = r.referee_id") ==
        "+263772000001 referred +263771234567 on whatsapp open true");
  // The new member is given their own code to pass on.
  CHECK(welcome.find("Your referral code is " +
                     sql_value(wa.db.owner(),
                               "SELECT referral_code FROM customers WHERE phone = "
                               "'+263771234567'") +
                     ": give it to friends who sign up.") != std::string::npos);
  // A code that is no customer's: joined all the same, and told.
  wa.say("join 23456789", "263771234568");
  auto told = WhatsApp::text_of(wa.sent());
  CHECK(told.find("Welcome to Tenant shop rewards!") != std::string::npos);
  CHECK(told.find("That referral code is not one of Tenant shop's, so no one was credited for "
                  "bringing you.") != std::string::npos);
  CHECK(sql_value(wa.db.owner(),
                  "SELECT status || ' ' || consent_channel || ' ' || (SELECT count(*) FROM "
                  "referrals) FROM customers WHERE phone = '+263771234568'") ==
        "active whatsapp 1");
}

TEST_CASE("whatsapp: a redelivered message is answered once", "[http]") {
  WhatsApp wa;
  auto body =
      WhatsApp::envelope(kNumber,
                         {{"messages",
                           {WhatsApp::message(kCustomer, "wamid.SAME",
                                              {{"type", "text"}, {"text", {{"body", "JOIN"}}}})}}})
          .dump();
  auto first = wa.post(body);
  REQUIRE(first.status == 200);
  CHECK(first.body["queued"] == 1);
  auto again = wa.post(body);
  REQUIRE(again.status == 200);
  CHECK(again.body["duplicates"] == 1);
  wa.sent();
  // Another message afterwards is answered; the redelivery never was.
  wa.say("BALANCE");
  CHECK(WhatsApp::text_of(wa.sent()) == "You have 0 points.");
  CHECK(wa.graph.requests().size() == 2);
  CHECK(sql_value(wa.db.owner(), "SELECT count(*) FROM notifications WHERE template = 'reply'") ==
        "2");
}

TEST_CASE(
    "whatsapp: a reward notice brings its PIN, which works at the till and is then gone "
    "from the database; status updates are recorded",
    "[http]") {
  WhatsApp wa;
  free_coffee_on_every_visit(wa.api, wa.shop);
  wa.reply_to("JOIN");  // inside the 24-hour window from here
  REQUIRE(visit(wa.api, wa.shop, "+263771234567", "visit-1").status == 201);
  auto notice = wa.sent();
  CHECK(notice["type"] == "text");
  CHECK(notice["to"] == "+263771234567");
  const std::string text = WhatsApp::text_of(notice);
  CHECK(text.find("Tenant shop: you have a new reward, Free coffee.") != std::string::npos);
  std::smatch pin;
  REQUIRE(std::regex_search(text, pin, std::regex("PIN: ([0-9]{6})")));
  const std::string id = wait_for_value(
      wa.db.owner(), "SELECT status FROM notifications WHERE template = 'reward_issued'", "sent");
  CHECK(id == "sent");
  // Sent: no PIN and no recipient left in the queue.
  CHECK(sql_value(wa.db.owner(),
                  "SELECT count(*) FROM notifications WHERE payload ? 'pin' OR "
                  "(status <> 'queued' AND recipient IS NOT NULL)") == "0");
  const std::string wamid =
      sql_value(wa.db.owner(),
                "SELECT provider_message_id FROM notifications WHERE template = 'reward_issued'");
  REQUIRE(!wamid.empty());

  // The customer shows the PIN at the till.
  const std::string issuance =
      sql_value(wa.db.owner(), "SELECT id FROM issuances WHERE state = 'issued'");
  auto redeemed =
      wa.api.post("/v1/tenants/" + wa.shop.tenant_id + "/issuances/" + issuance + "/redeem",
                  {{"pin", pin[1].str()}}, wa.shop.pos_key);
  INFO(redeemed.raw);
  CHECK(redeemed.status == 200);
  // ... and hears that it was used.
  CHECK(WhatsApp::text_of(wa.sent()) == "Tenant shop: you used Free coffee. Thank you!");

  // Meta's status updates: delivered, then read; a late "delivered" does not go back.
  auto status = [&](const std::string& s, json extra = json::object()) {
    json st = {
        {"id", wamid}, {"status", s}, {"timestamp", "1749416400"}, {"recipient_id", kCustomer}};
    st.update(extra);
    REQUIRE(wa.post(WhatsApp::envelope(kNumber, {{"statuses", {st}}}).dump()).status == 200);
  };
  status("delivered");
  CHECK(sql_value(wa.db.owner(), "SELECT status FROM notifications WHERE provider_message_id = '" +
                                     wamid + "'") == "delivered");
  status("read");
  status("delivered");
  CHECK(sql_value(wa.db.owner(), "SELECT status FROM notifications WHERE provider_message_id = '" +
                                     wamid + "'") == "read");
  // A failure names Meta's code.
  const std::string redeemed_wamid =
      sql_value(wa.db.owner(),
                "SELECT provider_message_id FROM notifications WHERE template = 'reward_redeemed'");
  json failed = {
      {"id", redeemed_wamid},
      {"status", "failed"},
      {"timestamp", "1749416400"},
      {"recipient_id", kCustomer},
      {"errors",
       {{{"code", 131049},
         {"title", "This message was not delivered to maintain healthy ecosystem engagement."}}}}};
  REQUIRE(wa.post(WhatsApp::envelope(kNumber, {{"statuses", {failed}}}).dump()).status == 200);
  CHECK(sql_value(wa.db.owner(),
                  "SELECT status || ' ' || error_code FROM notifications WHERE template = "
                  "'reward_redeemed'") == "failed 131049");
}

TEST_CASE(
    "whatsapp: outside the 24-hour window a notice goes as the tenant's template, and "
    "without one it fails where the operator sees it",
    "[http]") {
  WhatsApp wa({"--template", "reward_issued=reward_ready:en_US"});
  free_coffee_on_every_visit(wa.api, wa.shop);
  // Enrolled at the till with consent, never wrote on WhatsApp: no open window.
  REQUIRE(wa.api
              .post("/v1/tenants/" + wa.shop.tenant_id + "/customers",
                    {{"phone", "0771 234 567"}, {"consent", true}}, wa.shop.pos_key)
              .status == 201);
  REQUIRE(visit(wa.api, wa.shop, "+263771234567", "visit-1").status == 201);
  auto notice = wa.sent();
  REQUIRE(notice["type"] == "template");
  CHECK(notice["template"]["name"] == "reward_ready");
  CHECK(notice["template"]["language"]["code"] == "en_US");
  auto params = notice["template"]["components"][0]["parameters"];
  REQUIRE(params.size() == 5);
  CHECK(params[0]["text"] == "Tenant shop");
  CHECK(params[1]["text"] == "Free coffee");
  CHECK(params[2]["text"] == "-");  // no code for this reward
  CHECK(std::regex_match(params[3]["text"].get<std::string>(), std::regex("[0-9]{6}")));
  CHECK(wait_for_value(wa.db.owner(),
                       "SELECT sent_as FROM notifications WHERE template = 'reward_issued'",
                       "template") == "template");

  // The redemption notice has no template configured: failed, with the reason.
  const std::string issuance =
      sql_value(wa.db.owner(), "SELECT id FROM issuances WHERE state = 'issued'");
  REQUIRE(wa.api
              .post("/v1/tenants/" + wa.shop.tenant_id + "/issuances/" + issuance + "/redeem",
                    {{"pin", params[3]["text"]}}, wa.shop.pos_key)
              .status == 200);
  CHECK(wait_for_value(wa.db.owner(),
                       "SELECT status FROM notifications WHERE template = 'reward_redeemed'",
                       "failed") == "failed");
  CHECK(sql_value(wa.db.owner(),
                  "SELECT last_error FROM notifications WHERE template = 'reward_redeemed'")
            .find("no template for reward_redeemed") != std::string::npos);

  // Where the merchant's staff and the operator see it: the API and loyaltyctl.
  const std::string list = "/v1/tenants/" + wa.shop.tenant_id + "/notifications";
  auto failed = wa.api.get(list + "?status=failed", wa.shop.viewer_token);
  INFO(failed.raw);
  REQUIRE(failed.status == 200);
  REQUIRE(failed.body["items"].size() == 1);
  const auto& n = failed.body["items"][0];
  CHECK(n["kind"] == "reward_redeemed");
  CHECK(n["attempts"] == 1);
  CHECK(n["last_error"].get<std::string>().find("no template for reward_redeemed") !=
        std::string::npos);
  CHECK(!n.contains("payload"));
  auto all = wa.api.get(list + "?limit=1", wa.shop.admin_token);
  REQUIRE(all.body["items"].size() == 1);
  auto next = wa.api.get(list + "?limit=1&cursor=" + all.body["next_cursor"].get<std::string>(),
                         wa.shop.admin_token);
  REQUIRE(next.body["items"].size() == 1);
  CHECK(next.body["items"][0]["kind"] != all.body["items"][0]["kind"]);
  CHECK(next.body["items"][0]["sent_as"] == "template");
  CHECK(wa.api.get(list + "?status=lost", wa.shop.admin_token).status == 422);
  CHECK(wa.api.get(list, wa.shop.pos_key).status == 403);
  auto cli = loyalty::test::loyaltyctl(
      wa.db.owner_url(), {"notices", "list", "--tenant", "shop", "--status", "failed"});
  CHECK(cli.exit_code == 0);
  CHECK(cli.out.find("reward_redeemed") != std::string::npos);
  CHECK(cli.out.find("no template for reward_redeemed") != std::string::npos);
  CHECK(cli.out.find("reward_issued") == std::string::npos);
}

TEST_CASE(
    "whatsapp: a 503 is retried until sent, and a permanent error marks the notice failed "
    "with Meta's code",
    "[http]") {
  WhatsApp wa;
  wa.reply_to("JOIN");
  wa.graph.fail_next(2, 503, 0);
  wa.say("BALANCE");
  wa.sent();
  wa.sent();
  CHECK(WhatsApp::text_of(wa.sent()) == "You have 0 points.");
  CHECK(wait_for_value(wa.db.owner(),
                       "SELECT status || ' ' || attempts FROM notifications WHERE template = "
                       "'reply' ORDER BY created_at DESC LIMIT 1",
                       "sent 3") == "sent 3");
  wa.graph.fail_next(1, 400, 131026, "Message Undeliverable.");
  wa.say("REWARDS");
  wa.sent();
  CHECK(wait_for_value(wa.db.owner(),
                       "SELECT status || ' ' || error_code FROM notifications WHERE template = "
                       "'reply' ORDER BY created_at DESC LIMIT 1",
                       "failed 131026") == "failed 131026");
  // Retried no more.
  std::this_thread::sleep_for(500ms);
  CHECK(wa.graph.requests().size() == wa.requests_so_far());
  // What /metrics shows: two sent (JOIN's reply, BALANCE's after two 503s), two retries, one
  // failure (REWARDS's), nothing left queued.
  auto metrics = wa.api.send("GET", "/metrics", "", "", "", {});
  REQUIRE(metrics.status == 200);
  CHECK(metrics.raw.find("loyalty_notices_total{outcome=\"sent\"} 2\n") != std::string::npos);
  CHECK(metrics.raw.find("loyalty_notices_total{outcome=\"retried\"} 2\n") != std::string::npos);
  CHECK(metrics.raw.find("loyalty_notices_total{outcome=\"failed\"} 1\n") != std::string::npos);
  CHECK(metrics.raw.find("loyalty_notices_queued{state=\"due\"} 0\n") != std::string::npos);
  CHECK(metrics.raw.find("loyalty_notices_queued{state=\"waiting\"} 0\n") != std::string::npos);
}

TEST_CASE("whatsapp: STOP opts out, and the customer gets nothing more but the confirmation",
          "[http]") {
  WhatsApp wa;
  free_coffee_on_every_visit(wa.api, wa.shop);
  wa.reply_to("JOIN");
  REQUIRE(visit(wa.api, wa.shop, "+263771234567", "visit-1").status == 201);
  std::smatch pin;
  const std::string notice = WhatsApp::text_of(wa.sent());
  REQUIRE(std::regex_search(notice, pin, std::regex("PIN: ([0-9]{6})")));
  CHECK(wa.reply_to("stop") ==
        "You will get no more messages from Tenant shop. Send JOIN to rejoin.");
  CHECK(sql_value(wa.db.owner(), "SELECT status || ' ' || (consent_at IS NULL) FROM customers") ==
        "opted_out true");
  // The reward is still theirs; using it at the till sends no message now.
  const std::string issuance =
      sql_value(wa.db.owner(), "SELECT id FROM issuances WHERE state = 'issued'");
  REQUIRE(wa.api
              .post("/v1/tenants/" + wa.shop.tenant_id + "/issuances/" + issuance + "/redeem",
                    {{"pin", pin[1].str()}}, wa.shop.pos_key)
              .status == 200);
  CHECK(sql_value(wa.db.owner(),
                  "SELECT count(*) FROM notifications WHERE template = 'reward_redeemed'") == "0");
  std::this_thread::sleep_for(300ms);
  CHECK(wa.graph.requests().size() == wa.requests_so_far());
  // Writing again brings the way back in, not a notice.
  CHECK(wa.reply_to("BALANCE").find("Send JOIN to join again") != std::string::npos);
  CHECK(wa.reply_to("JOIN").find("Welcome") != std::string::npos);
  CHECK(sql_value(wa.db.owner(), "SELECT status FROM customers") == "active");
}

TEST_CASE(
    "whatsapp: loyaltyctl expire warns a customer once of a reward and of points that expire "
    "soon, and not one who opted out",
    "[http]") {
  WhatsApp wa;
  free_coffee_on_every_visit(wa.api, wa.shop);
  const std::string base = "/v1/tenants/" + wa.shop.tenant_id;
  REQUIRE(wa.api
              .post(base + "/reward-catalog",
                    {{"name", "Visit points"},
                     {"type", "points"},
                     {"currency", "USD"},
                     {"validity_days", 2},
                     {"config", {{"points", 50}}}},
                    wa.shop.manager_token)
              .status == 201);
  REQUIRE(wa.api
              .post(base + "/rules",
                    {{"name", "Points a visit"},
                     {"event_type", "visit"},
                     {"conditions", true},
                     {"reward", "Visit points"}},
                    wa.shop.manager_token)
              .status == 201);
  wa.reply_to("JOIN");
  REQUIRE(visit(wa.api, wa.shop, "+263771234567", "visit-1").status == 201);
  wa.sent();  // the coffee's notice and the points' notice
  wa.sent();
  // The coffee is now due to expire in two days, like the points.
  sql_value(wa.db.owner(),
            "UPDATE issuances i SET expires_at = now() + interval '2 days' FROM rewards r WHERE "
            "r.id = i.reward_id AND r.name = 'Free coffee' RETURNING 1");
  auto expire = [&](std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"expire", "--tenant", "shop", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto run = loyalty::test::loyaltyctl(wa.db.owner_url(), args);
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    return json::parse(run.out)["total"];
  };
  // Four days ahead would warn; a dry run only counts.
  auto dry = expire({"--dry-run", "--warn-days", "4"});
  CHECK(dry["rewards_warned"] == 1);
  CHECK(dry["points_warned"] == 1);
  // One day ahead is too soon for either.
  auto early = expire({"--warn-days", "1"});
  CHECK(early["rewards_warned"] == 0);
  CHECK(early["points_warned"] == 0);
  auto run = expire();  // the default: three days
  CHECK(run["rewards_warned"] == 1);
  CHECK(run["points_warned"] == 1);
  CHECK(run["issuances_expired"] == 0);

  const std::string date = sql_value(
      wa.db.owner(),
      "SELECT to_char(i.expires_at AT TIME ZONE t.timezone, 'YYYY-MM-DD') FROM issuances i JOIN "
      "tenants t ON t.id = i.tenant_id JOIN rewards r ON r.id = i.reward_id WHERE r.name = "
      "'Free coffee'");
  const std::string points_date =
      sql_value(wa.db.owner(),
                "SELECT to_char(min(p.expires_at AT TIME ZONE t.timezone), 'YYYY-MM-DD') FROM "
                "points_lots p JOIN tenants t ON t.id = p.tenant_id");
  std::set<std::string> texts = {WhatsApp::text_of(wa.sent()), WhatsApp::text_of(wa.sent())};
  CHECK(texts ==
        std::set<std::string>{
            "Tenant shop: your reward Free coffee expires on " + date + ". Use it before then.",
            "Tenant shop: 50 of your points expire on " + points_date + "."});
  // Warned once: a second run queues nothing.
  auto again = expire({"--warn-days", "4"});
  CHECK(again["rewards_warned"] == 0);
  CHECK(again["points_warned"] == 0);

  // A second visit's points, for a customer who then opts out: marked, never sent.
  REQUIRE(visit(wa.api, wa.shop, "+263771234567", "visit-2").status == 201);
  wa.sent();
  wa.sent();
  wa.reply_to("STOP");
  CHECK(expire()["points_warned"] == 0);
  CHECK(sql_value(wa.db.owner(),
                  "SELECT count(*) FROM points_lots WHERE remaining > 0 AND expiry_notice_at IS "
                  "NULL") == "0");
  std::this_thread::sleep_for(300ms);
  CHECK(wa.graph.requests().size() == wa.requests_so_far());
}

TEST_CASE(
    "whatsapp: a number routes to its own tenant only, and a number's own app secret "
    "cannot speak for another's",
    "[http]") {
  WhatsApp wa;
  auto other = loyalty::test::seed_tenant(wa.db, wa.api, "other");
  const std::string other_number = "106540352249999";
  const std::string other_secret = "the-other-app-secret-0123456789";
  wa.route("other", other_number, {"--app-secret-file", temp_file("other.secret", other_secret)});
  wa.say("JOIN", kCustomer, other_number);
  CHECK(WhatsApp::text_of(wa.sent()).find("Welcome to Tenant other rewards!") != std::string::npos);
  CHECK(sql_value(wa.db.owner(),
                  "SELECT string_agg(t.slug, ',') FROM customers c JOIN tenants t "
                  "ON t.id = c.tenant_id") == "other");
  CHECK(wa.graph.requests().back().target == "/v25.0/" + other_number + "/messages");

  // Signed with the other number's secret but naming shop's number: skipped, nothing kept.
  auto body =
      WhatsApp::envelope(kNumber,
                         {{"messages",
                           {WhatsApp::message(kCustomer, "wamid.CROSS",
                                              {{"type", "text"}, {"text", {{"body", "JOIN"}}}})}}})
          .dump();
  auto res = wa.post(body, other_secret);
  REQUIRE(res.status == 200);
  CHECK(res.body["unrouted"] == 1);
  CHECK(sql_value(wa.db.owner(),
                  "SELECT count(*) FROM whatsapp_inbox WHERE wamid = 'wamid.CROSS'") == "0");
  // A number no tenant has: skipped too.
  auto unknown = wa.post(
      WhatsApp::envelope("999999999",
                         {{"messages",
                           {WhatsApp::message(kCustomer, "wamid.NONE",
                                              {{"type", "text"}, {"text", {{"body", "JOIN"}}}})}}})
          .dump());
  CHECK(unknown.body["unrouted"] == 1);
}

TEST_CASE(
    "whatsapp: images, reactions, unknown types and username-only senders get help or "
    "nothing, never an error",
    "[http]") {
  WhatsApp wa;
  wa.reply_to("JOIN");
  auto post_message = [&](json fields, const std::string& from = kCustomer) {
    auto body = WhatsApp::envelope(
        kNumber, {{"messages", {WhatsApp::message(from, wa.next_wamid(), std::move(fields))}}});
    auto res = wa.post(body.dump());
    INFO(res.raw);
    CHECK(res.status == 200);
  };
  post_message({{"type", "image"}, {"image", {{"id", "1"}, {"mime_type", "image/jpeg"}}}});
  CHECK(WhatsApp::text_of(wa.sent()).find("Send BALANCE for your points") != std::string::npos);
  post_message({{"type", "reaction"}, {"reaction", {{"message_id", "wamid.X"}, {"emoji", "👍"}}}});
  post_message(
      {{"type", "unsupported"}, {"errors", {{{"code", 131051}, {"title", "Unsupported"}}}}});
  CHECK(WhatsApp::text_of(wa.sent()).find("Send BALANCE for your points") != std::string::npos);
  // A username-only sender: no phone number to find a membership by.
  auto body = WhatsApp::envelope(kNumber, {{"messages",
                                            {{{"from_user_id", "US.13491208655302741918"},
                                              {"id", wa.next_wamid()},
                                              {"timestamp", "1749416383"},
                                              {"type", "text"},
                                              {"text", {{"body", "JOIN"}}}}}}});
  CHECK(wa.post(body.dump()).status == 200);
  // Everything was handled: the reaction and the username got no answer.
  CHECK(wait_for_value(wa.db.owner(),
                       "SELECT count(*) FROM whatsapp_inbox WHERE answered_at IS NULL",
                       "0") == "0");
  std::this_thread::sleep_for(300ms);
  CHECK(wa.graph.requests().size() == wa.requests_so_far());
  CHECK(sql_value(wa.db.owner(), "SELECT count(*) FROM jobs WHERE status = 'dead'") == "0");
}

TEST_CASE("whatsapp: REDEEM lists the rewards that need a PIN and a pick gives a fresh one",
          "[http]") {
  WhatsApp wa;
  free_coffee_on_every_visit(wa.api, wa.shop);
  wa.reply_to("JOIN");
  auto visited = visit(wa.api, wa.shop, "+263771234567", "visit-1");
  INFO(visited.raw);
  REQUIRE(visited.status == 201);
  wa.sent();  // the notice
  wa.say("REDEEM");
  auto list = wa.sent();
  REQUIRE(list["type"] == "interactive");
  CHECK(list["interactive"]["body"]["text"] == "Use which reward?");
  auto option = list["interactive"]["action"].contains("buttons")
                    ? list["interactive"]["action"]["buttons"][0]["reply"]
                    : list["interactive"]["action"]["sections"][0]["rows"][0];
  const std::string id = option["id"];
  CHECK(id.rfind("pin:", 0) == 0);
  wa.pick(id, "Free coffee");
  const std::string text = WhatsApp::text_of(wa.sent());
  std::smatch pin;
  REQUIRE(std::regex_search(text, pin, std::regex("PIN for Free coffee: ([0-9]{6})")));
  CHECK(text.find("Valid for 5 minutes") != std::string::npos);
  const std::string issuance =
      sql_value(wa.db.owner(), "SELECT id FROM issuances WHERE state = 'issued'");
  CHECK(wa.api
            .post("/v1/tenants/" + wa.shop.tenant_id + "/issuances/" + issuance + "/redeem",
                  {{"pin", pin[1].str()}}, wa.shop.pos_key)
            .status == 200);
  // The reply that carried the PIN keeps no PIN.
  CHECK(sql_value(wa.db.owner(),
                  "SELECT count(*) FROM notifications WHERE status = 'sent' AND payload::text ~ "
                  "'" +
                      pin[1].str() + "'") == "0");
}

TEST_CASE("whatsapp: the same message delivered eight times at once is kept and answered once",
          "[http]") {
  WhatsApp wa;
  auto body =
      WhatsApp::envelope(kNumber,
                         {{"messages",
                           {WhatsApp::message(kCustomer, "wamid.RACE",
                                              {{"type", "text"}, {"text", {{"body", "JOIN"}}}})}}})
          .dump();
  std::atomic<int> queued{0}, duplicates{0}, errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      Api api(wa.daemon.port());
      auto res = api.send(
          "POST", "/public/wa/webhook", body, "application/json", "",
          {{"X-Hub-Signature-256", loyalty::auth::compute_hub_signature(kAppSecret, body)}});
      if (res.status != 200) {
        ++errors;
        return;
      }
      queued += res.body.value("queued", 0);
      duplicates += res.body.value("duplicates", 0);
    });
  }
  for (auto& t : threads) t.join();
  CHECK(errors == 0);
  CHECK(queued == 1);
  CHECK(duplicates == 7);
  wa.sent();
  CHECK(wait_for_value(wa.db.owner(), "SELECT count(*) FROM jobs WHERE status = 'done'", "1") ==
        "1");
  CHECK(sql_value(wa.db.owner(), "SELECT count(*) FROM notifications") == "1");
  CHECK(sql_value(wa.db.owner(), "SELECT count(*) FROM customers") == "1");
  std::this_thread::sleep_for(300ms);
  CHECK(wa.graph.requests().size() == 1);
}

namespace {

/// A reward of the shop's catalogue that customers claim with points (a generated voucher).
std::string points_reward(WhatsApp& wa, const std::string& name, int price) {
  auto reward = wa.api.post("/v1/tenants/" + wa.shop.tenant_id + "/reward-catalog",
                            {{"name", name},
                             {"type", "voucher"},
                             {"cost", "1.00"},
                             {"currency", "USD"},
                             {"validity_days", 30},
                             {"points_price", price},
                             {"config", {{"source", "generated"}, {"prefix", "PTS-"}}}},
                            wa.shop.manager_token);
  INFO(reward.raw);
  REQUIRE(reward.status == 201);
  return reward.body["id"];
}

}  // namespace

TEST_CASE(
    "whatsapp: REDEEM offers the rewards the customer can claim with points, a confirmed pick "
    "spends them once and answers with the code, and one too dear says what it costs",
    "[http]") {
  WhatsApp wa;
  const std::string cheap = points_reward(wa, "$1 off", 10);
  const std::string dear = points_reward(wa, "Free lunch", 100);
  wa.reply_to("JOIN");
  const std::string customer = sql_value(wa.db.owner(), "SELECT id FROM customers");
  auto granted = wa.api.post(
      "/v1/tenants/" + wa.shop.tenant_id + "/customers/" + customer + "/points/adjustments",
      {{"points", 25}, {"reason", "welcome"}}, wa.shop.admin_token);
  INFO(granted.raw);
  REQUIRE(granted.status == 201);

  wa.say("REDEEM");
  auto menu = wa.sent();
  REQUIRE(menu["type"] == "interactive");
  CHECK(menu["interactive"]["body"]["text"] == "Use which reward?");
  // Two options: reply buttons (their titles only) or a list (with the price as description).
  const auto& action = menu["interactive"]["action"];
  std::vector<std::string> ids;
  if (action.contains("buttons")) {
    for (const auto& b : action["buttons"]) ids.push_back(b["reply"]["id"]);
  } else {
    for (const auto& row : action["sections"][0]["rows"]) {
      ids.push_back(row["id"]);
      CHECK(row["description"].get<std::string>().find(" points") != std::string::npos);
    }
  }
  CHECK(ids == std::vector<std::string>{"claim:" + cheap, "claim:" + dear});

  // The price first, against the balance, with Yes and No.
  wa.pick("claim:" + cheap, "$1 off");
  auto confirm = wa.sent();
  CHECK(WhatsApp::text_of(confirm) == "Spend 10 points on $1 off? You have 25.");
  REQUIRE(confirm["interactive"]["action"].contains("buttons"));
  CHECK(confirm["interactive"]["action"]["buttons"][0]["reply"]["id"] ==
        "claimok:" + cheap + ":25");
  CHECK(confirm["interactive"]["action"]["buttons"][1]["reply"]["id"] == "balance");
  CHECK(sql_value(wa.db.owner(), "SELECT points_balance FROM customers") == "25");

  // Yes: the points spent, the reward issued, its code in the answer (and in its notice).
  wa.pick("claimok:" + cheap + ":25", "Yes", "button_reply");
  std::vector<std::string> texts = {WhatsApp::text_of(wa.sent()), WhatsApp::text_of(wa.sent())};
  std::sort(texts.begin(), texts.end());
  const std::string code = sql_value(wa.db.owner(), "SELECT code FROM issuances");
  REQUIRE(code.rfind("PTS-", 0) == 0);
  CHECK(texts[0].rfind(
            "Tenant shop: you have a new reward, $1 off.\nCode: " + code + "\nValid until ", 0) ==
        0);
  CHECK(texts[1] == "You spent 10 points on $1 off. You have 15 left.\n\nShow code " + code +
                        " at the till to use $1 off.");
  CHECK(sql_value(wa.db.owner(), "SELECT points_balance FROM customers") == "15");
  CHECK(sql_value(wa.db.owner(), "SELECT state || ' ' || (event_id IS NULL) FROM issuances") ==
        "issued true");
  CHECK(sql_value(wa.db.owner(),
                  "SELECT reason || ' ' || points || ' ' || actor FROM "
                  "points_ledger WHERE kind = 'spend'") ==
        "claimed: $1 off -10 system:whatsapp:" + customer);

  // The same Yes again (tapped twice) claims nothing more: it asks again, with the new balance.
  wa.pick("claimok:" + cheap + ":25", "Yes", "button_reply");
  auto again = wa.sent();
  CHECK(WhatsApp::text_of(again) == "Spend 10 points on $1 off? You have 15.");
  CHECK(again["interactive"]["action"]["buttons"][0]["reply"]["id"] == "claimok:" + cheap + ":15");
  CHECK(sql_value(wa.db.owner(), "SELECT count(*) FROM issuances") == "1");

  // Too dear: what it costs, nothing spent, no confirmation offered.
  wa.pick("claim:" + dear, "Free lunch");
  auto short_of = wa.sent();
  CHECK(WhatsApp::text_of(short_of) == "Free lunch costs 100 points. You have 15.");
  CHECK(short_of.dump().find("claimok:") == std::string::npos);
  // A confirmation of it sent anyway is refused the same way.
  wa.pick("claimok:" + dear + ":15", "Yes", "button_reply");
  CHECK(WhatsApp::text_of(wa.sent()) == "Free lunch costs 100 points. You have 15.");
  CHECK(sql_value(wa.db.owner(), "SELECT count(*) FROM issuances") == "1");
  CHECK(sql_value(wa.db.owner(), "SELECT points_balance FROM customers") == "15");
  CHECK(wa.daemon.log().find(code) == std::string::npos);
}
