// The tenant's channels through the API (the dashboard's Channels page): admins add and remove
// WhatsApp numbers and USSD codes, every dashboard role reads them, problems name their field,
// an address belongs to one tenant only, and a code added here routes the gateway's callbacks.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>

#include <regex>

using loyalty::test::Api;
using loyalty::test::ApiResponse;
using loyalty::test::Daemon;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

const std::string kSecret = "gateway-secret-0123456789";

/// The problem's field errors as "POINTER MESSAGE" lines.
std::vector<std::string> field_errors(const ApiResponse& r) {
  std::vector<std::string> out;
  for (const auto& e : r.body.value("errors", json::array())) {
    out.push_back(e["pointer"].get<std::string>() + " " + e["message"].get<std::string>());
  }
  return out;
}

/// An answer without its generated id and time, checked for their form.
json without_id(json channel) {
  CHECK(std::regex_match(
      channel["id"].get<std::string>(),
      std::regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")));
  CHECK(std::regex_match(channel["created_at"].get<std::string>(),
                         std::regex("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$")));
  channel.erase("id");
  channel.erase("created_at");
  return channel;
}

}  // namespace

TEST_CASE(
    "channels: admins add and remove the tenant's WhatsApp numbers and USSD codes, every "
    "dashboard role reads them, a viewer or manager may not change them, problems name their field",
    "[http]") {
  TestDatabase db;
  auto daemon =
      Daemon::over(db, {"--rate-limit", "0", "--rate-limit-ip", "0", "--ussd-secret", kSecret});
  Api api(daemon.port());
  auto shop = loyalty::test::seed_tenant(db, api, "shop");
  const std::string base = "/v1/tenants/" + shop.tenant_id + "/channels";

  auto empty = api.get(base, shop.viewer_token);
  REQUIRE(empty.status == 200);
  CHECK(empty.body == json({{"items", json::array()}}));

  const json whatsapp = {
      {"channel", "whatsapp"},
      {"address", "106540352242922"},
      {"config", {{"templates", {{"reward_issued", {{"name", "reward_ready"}}}}}}}};
  // Only admins change them; the API refuses the others whatever the dashboard shows.
  for (const auto& role : {"viewer", "manager", "pos"}) {
    INFO(role);
    auto refused = api.post(base, whatsapp, shop.token(role));
    CHECK(refused.status == 403);
    CHECK(refused.content_type == "application/problem+json");
  }
  CHECK(api.post(base, whatsapp).status == 401);

  auto added = api.post(base, whatsapp, shop.admin_token);
  INFO(added.raw);
  REQUIRE(added.status == 201);
  CHECK(without_id(added.body) ==
        json({{"channel", "whatsapp"},
              {"address", "106540352242922"},
              {"templates", {{"reward_issued", {{"name", "reward_ready"}, {"language", "en"}}}}},
              {"own_access_token", false},
              {"own_app_secret", false}}));
  auto code = api.post(base, {{"channel", "ussd"}, {"address", "*123*4#"}}, shop.admin_token);
  REQUIRE(code.status == 201);
  CHECK(without_id(code.body) == json({{"channel", "ussd"},
                                       {"address", "*123*4#"},
                                       {"templates", json::object()},
                                       {"own_access_token", false},
                                       {"own_app_secret", false}}));

  // Problems, each beside its field.
  struct Bad {
    json body;
    std::vector<std::string> errors;
  };
  for (const auto& bad : std::vector<Bad>{
           {json::object(), {"/channel required", "/address required"}},
           {{{"channel", "sms"}, {"address", "+263771234567"}},
            {"/channel must be one of whatsapp, ussd"}},
           {{{"channel", "ussd"}, {"address", "123"}},
            {"/address dialled form, e.g. *123# or *123*4#"}},
           {{{"channel", "whatsapp"}, {"address", "+263 77 123 4567"}},
            {"/address the digits of the phone number id Meta shows"}},
           {{{"channel", "whatsapp"},
             {"address", "106540352242923"},
             {"config", {{"access_token_file", "/etc/loyalty/token"}}}},
            {"/config/access_token_file a secret file is set by the operator (loyaltyctl channel "
             "add)"}},
           {{{"channel", "whatsapp"},
             {"address", "106540352242923"},
             {"config", {{"templates", {{"birthday", {{"name", "happy"}}}}}}}},
            {"/config/templates/birthday reward_issued, reward_redeemed, reward_expiring or "
             "points_expiring"}},
           {{{"channel", "whatsapp"},
             {"address", "106540352242923"},
             {"config", {{"templates", {{"reward_issued", {{"name", "Reward Ready"}}}}}}}},
            {"/config/templates/reward_issued/name lower-case letters, digits and '_'"}},
           {{{"channel", "whatsapp"},
             {"address", "106540352242923"},
             {"config", {{"templates", {{"reward_issued", "reward_ready"}}}}}},
            {"/config/templates/reward_issued must be {\"name\": TEMPLATE, \"language\": "
             "LANGUAGE}"}},
           {{{"channel", "ussd"},
             {"address", "*125#"},
             {"config", {{"templates", {{"reward_issued", {{"name", "reward_ready"}}}}}}}},
            {"/config/templates a USSD code sends no WhatsApp templates"}},
       }) {
    INFO(bad.body.dump());
    auto r = api.post(base, bad.body, shop.admin_token);
    INFO(r.raw);
    CHECK(r.status == 422);
    CHECK(r.content_type == "application/problem+json");
    CHECK(r.body["type"] == "https://loyalty.example/problems/validation-failed");
    CHECK(field_errors(r) == bad.errors);
  }
  CHECK(
      api.post(base, {{"channel", "ussd"}, {"address", "*125#"}, {"label", "x"}}, shop.admin_token)
          .status == 400);

  // An address routes to one tenant: neither this one nor another may add it again.
  auto other = loyalty::test::seed_tenant(db, api, "other");
  const std::string other_base = "/v1/tenants/" + other.tenant_id + "/channels";
  for (const auto& [token, path] :
       {std::pair{shop.admin_token, base}, std::pair{other.admin_token, other_base}}) {
    auto taken = api.post(path, {{"channel", "ussd"}, {"address", "*123*4#"}}, token);
    CHECK(taken.status == 409);
    CHECK(taken.body["type"] == "https://loyalty.example/problems/channel-taken");
    CHECK(taken.body["detail"] == "ussd *123*4# already belongs to a tenant");
  }
  // Another tenant sees none of them, and may not reach this tenant's list.
  CHECK(api.get(other_base, other.viewer_token).body == json({{"items", json::array()}}));
  CHECK(api.get(base, other.admin_token).status == 404);

  // Every dashboard role reads them, by channel and address.
  for (const auto& role : {"viewer", "manager", "admin"}) {
    INFO(role);
    auto list = api.get(base, shop.token(role));
    REQUIRE(list.status == 200);
    REQUIRE(list.body["items"].size() == 2);
    CHECK(list.body["items"][0] == code.body);
    CHECK(list.body["items"][1] == added.body);
  }
  CHECK(api.get(base, shop.pos_key).status == 403);

  // The code added here routes the gateway's callbacks to the shop's menu.
  auto callback = [&](const std::string& service_code) {
    return api.send("POST", "/public/ussd/callback?secret=" + kSecret,
                    "phoneNumber=%2B263771234567&sessionId=ATUid_1&serviceCode=" + service_code +
                        "&networkCode=64804&text=",
                    "application/x-www-form-urlencoded", "", {});
  };
  auto menu = callback("%2A123%2A4%23");
  INFO(menu.raw);
  CHECK(menu.status == 200);
  CHECK(menu.raw.rfind("CON ", 0) == 0);
  CHECK(menu.raw.find("1. ") != std::string::npos);

  // Removing: admins only, by id; an id that is not the tenant's is not found.
  const std::string code_path = base + "/" + code.body["id"].get<std::string>();
  CHECK(api.del(code_path, shop.viewer_token).status == 403);
  CHECK(api.del(code_path, shop.manager_token).status == 403);
  CHECK(api.del(other_base + "/" + code.body["id"].get<std::string>(), other.admin_token).status ==
        404);
  CHECK(api.del(base + "/not-an-id", shop.admin_token).status == 404);
  CHECK(api.del(base + "/0e33d778-c798-419d-8ed4-babab2bed69d", shop.admin_token).status == 404);
  auto removed = api.del(code_path, shop.admin_token);
  CHECK(removed.status == 204);
  CHECK(removed.raw.empty());
  CHECK(api.del(code_path, shop.admin_token).status == 404);
  auto left = api.get(base, shop.viewer_token);
  CHECK(left.body == json({{"items", json::array({added.body})}}));
  CHECK(callback("%2A123%2A4%23").raw == "END This service is not available.");
  // Free again, the code may go to another tenant.
  CHECK(api.post(other_base, {{"channel", "ussd"}, {"address", "*123*4#"}}, other.admin_token)
            .status == 201);

  // Audited, with who did it.
  CHECK(sql_value(db.owner(),
                  "SELECT string_agg(a.action || ' ' || a.entity_id || ' ' || u.email, ', ' "
                  "ORDER BY a.id) FROM audit_log a JOIN users u ON u.id::text = a.actor_id "
                  "WHERE a.entity_type = 'channel' AND a.tenant_id = '" +
                      shop.tenant_id + "'") ==
        "channel.add whatsapp:106540352242922 admin@shop.example, channel.add ussd:*123*4# "
        "admin@shop.example, channel.remove ussd:*123*4# admin@shop.example");
}
