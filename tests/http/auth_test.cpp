// Authentication: JWTs checked against an independent implementation (PyJWT), refresh
// rotation and reuse detection, API key revocation, HMAC request signing, login throttling.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>
#include <loyalty/auth/request_signing.hpp>

#include <chrono>

using loyalty::test::Api;
using loyalty::test::Daemon;
using loyalty::test::TestDatabase;

namespace {

const std::string kSecret = "test-secret-0123456789-abcdefghijklmnop";  // 40 bytes
const std::string kSecrets = R"({"k1":")" + kSecret + R"("})";

/// Runs PyJWT with the given script; argv[1] is the secret, argv[2] the extra argument.
std::string python(const std::string& script, const std::string& arg = "") {
  auto r = loyalty::test::run_command({"/usr/bin/python3", "-c", script, kSecret, arg});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto out = r.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace

TEST_CASE("auth: tokens the daemon issues verify with PyJWT, and PyJWT forgeries are refused",
          "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, {"--jwt-secrets", kSecrets, "--jwt-kid", "k1"});
  Api api(daemon.port());
  auto creds = loyalty::test::seed_tenant(db, api, "jwt-shop");
  std::string customers = "/v1/tenants/" + creds.tenant_id + "/customers";

  auto claims = nlohmann::json::parse(
      python("import jwt,sys,json; print(json.dumps(jwt.decode(sys.argv[2], sys.argv[1], "
             "algorithms=['HS256'])))",
             creds.admin_token));
  CHECK(claims["tenant_id"] == creds.tenant_id);
  CHECK(claims["role"] == "admin");
  CHECK(claims["exp"].get<long long>() - claims["iat"].get<long long>() == 900);
  CHECK(api.get(customers, creds.admin_token).status == 200);

  std::string good_claims = "{'sub': '" + claims["sub"].get<std::string>() + "', 'tenant_id': '" +
                            creds.tenant_id + "', 'role': 'admin'";
  // A token PyJWT makes the right way is accepted: the implementations agree.
  auto valid = python("import jwt,sys,time; print(jwt.encode(" + good_claims +
                      ", 'exp': int(time.time())+300}, sys.argv[1], algorithm='HS256', "
                      "headers={'kid':'k1'}))");
  CHECK(api.get(customers, valid).status == 200);

  struct Forgery {
    const char* name;
    std::string script;
  };
  std::vector<Forgery> forgeries = {
      {"alg none", "import jwt,sys,time; print(jwt.encode(" + good_claims +
                       ", 'exp': int(time.time())+300}, None, algorithm='none'))"},
      {"HS512", "import jwt,sys,time; print(jwt.encode(" + good_claims +
                    ", 'exp': int(time.time())+300}, sys.argv[1], algorithm='HS512', "
                    "headers={'kid':'k1'}))"},
      {"expired beyond leeway", "import jwt,sys,time; print(jwt.encode(" + good_claims +
                                    ", 'exp': int(time.time())-120}, sys.argv[1], "
                                    "algorithm='HS256', headers={'kid':'k1'}))"},
      {"missing exp", "import jwt,sys,time; print(jwt.encode(" + good_claims +
                          "}, sys.argv[1], algorithm='HS256', headers={'kid':'k1'}))"},
      {"future nbf", "import jwt,sys,time; print(jwt.encode(" + good_claims +
                         ", 'exp': int(time.time())+3000, 'nbf': int(time.time())+600}, "
                         "sys.argv[1], algorithm='HS256', headers={'kid':'k1'}))"},
      {"wrong key", "import jwt,sys,time; print(jwt.encode(" + good_claims +
                        ", 'exp': int(time.time())+300}, 'another-secret-of-enough-length-xx', "
                        "algorithm='HS256', headers={'kid':'k1'}))"},
      {"tampered payload",
       "import jwt,sys,time,base64,json\n"
       "t=jwt.encode(" +
           good_claims +
           ", 'exp': int(time.time())+300}, sys.argv[1], "
           "algorithm='HS256', headers={'kid':'k1'})\n"
           "h,p,s=t.split('.')\n"
           "c=json.loads(base64.urlsafe_b64decode(p+'=='))\nc['role']='admin';c['tenant_id']='x'\n"
           "p=base64.urlsafe_b64encode(json.dumps(c).encode()).decode().rstrip('=')\n"
           "print(h+'.'+p+'.'+s)"},
  };
  for (const auto& f : forgeries) {
    INFO(f.name);
    auto token = python(f.script);
    auto res = api.get(customers, token);
    CHECK(res.status == 401);
    CHECK(res.content_type == "application/problem+json");
  }
}

TEST_CASE(
    "auth: refresh rotates, reuse revokes the family, logout and disabled users end "
    "sessions",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db);
  Api api(daemon.port());
  auto creds = loyalty::test::seed_tenant(db, api, "refresh-shop");

  auto first = api.post("/public/auth/refresh", {{"refresh_token", creds.admin_refresh_token}});
  REQUIRE(first.status == 200);
  std::string second_token = first.body["refresh_token"];
  CHECK(second_token != creds.admin_refresh_token);
  CHECK(api.get("/v1/tenants/" + creds.tenant_id + "/users", first.body["access_token"]).status ==
        200);

  // Presenting the rotated-away token again is reuse: it fails and kills the whole family.
  CHECK(api.post("/public/auth/refresh", {{"refresh_token", creds.admin_refresh_token}}).status ==
        401);
  CHECK(api.post("/public/auth/refresh", {{"refresh_token", second_token}}).status == 401);

  // Logout revokes.
  auto login = api.post("/public/auth/login",
                        {{"email", creds.admin_email}, {"password", creds.admin_password}});
  REQUIRE(login.status == 200);
  CHECK(api.post("/public/auth/logout", {{"refresh_token", login.body["refresh_token"]}}).status ==
        204);
  CHECK(api.post("/public/auth/refresh", {{"refresh_token", login.body["refresh_token"]}}).status ==
        401);

  // A disabled user's refresh token is refused.
  auto manager = api.post("/public/auth/login", {{"email", "manager@refresh-shop.example"},
                                                 {"password", "correct horse battery staple"}});
  REQUIRE(manager.status == 200);
  auto users = api.get("/v1/tenants/" + creds.tenant_id + "/users", creds.admin_token);
  std::string manager_id;
  for (const auto& u : users.body["items"]) {
    if (u["role"] == "manager") manager_id = u["id"];
  }
  REQUIRE(api.post("/v1/tenants/" + creds.tenant_id + "/users/" + manager_id + "/disable", {},
                   creds.admin_token)
              .status == 200);
  CHECK(
      api.post("/public/auth/refresh", {{"refresh_token", manager.body["refresh_token"]}}).status ==
      401);
  CHECK(api.post("/public/auth/login", {{"email", "manager@refresh-shop.example"},
                                        {"password", "correct horse battery staple"}})
            .status == 401);
}

TEST_CASE("auth: a revoked API key is refused at once", "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db);
  Api api(daemon.port());
  auto creds = loyalty::test::seed_tenant(db, api, "key-shop");
  std::string base = "/v1/tenants/" + creds.tenant_id;
  auto created = api.post(base + "/api-keys", {{"name", "till 7"}}, creds.admin_token);
  REQUIRE(created.status == 201);
  std::string key = created.body["key"];
  CHECK(api.get(base + "/customers", key).status == 200);
  auto listed = api.get(base + "/api-keys", creds.admin_token);
  CHECK(listed.raw.find(key) == std::string::npos);  // the secret is never shown again
  // Keys and users list a page at a time, oldest first (the seed's POS key, then this one).
  auto first = api.get(base + "/api-keys?limit=1", creds.admin_token);
  REQUIRE(first.body["items"].size() == 1);
  REQUIRE(first.body["next_cursor"].is_string());
  auto second =
      api.get(base + "/api-keys?limit=1&cursor=" + first.body["next_cursor"].get<std::string>(),
              creds.admin_token);
  REQUIRE(second.body["items"].size() == 1);
  CHECK(second.body["items"][0]["id"] == created.body["id"]);
  CHECK(second.body["next_cursor"].is_null());
  auto users = api.get(base + "/users?limit=2", creds.admin_token);
  CHECK(users.body["items"].size() == 2);  // admin, manager (then the viewer)
  CHECK(users.body["next_cursor"].is_string());
  CHECK(api.get(base + "/users?cursor=bogus", creds.admin_token).status == 422);
  REQUIRE(api.del(base + "/api-keys/" + created.body["id"].get<std::string>(), creds.admin_token)
              .status == 200);
  CHECK(api.get(base + "/customers", key).status == 401);
  CHECK(api.get(base + "/customers", creds.pos_key).status == 200);
}

TEST_CASE("auth: HMAC-signed requests; wrong key, stale timestamp, replay, altered body → 401",
          "[http]") {
  TestDatabase db;
  const std::string secret = "hmac-secret-0123456789-abcdefghijklmnopq";
  auto daemon = Daemon::over(db, {}, {"HMAC_KEYS_JSON={\"erp\":\"" + secret + "\"}"});
  Api api(daemon.port());
  auto creds = loyalty::test::seed_tenant(db, api, "hmac-shop");
  std::string path = "/v1/tenants/" + creds.tenant_id + "/customers";
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  auto send = [&](const std::string& key_id, const std::string& key_secret,
                  const std::string& signed_body, const std::string& sent_body,
                  std::chrono::sys_seconds at) {
    auto s = loyalty::auth::sign_request(key_id, key_secret, "POST", path, signed_body, at);
    return api.post_raw(path, sent_body, "application/json", "",
                        {{"X-Loyalty-Key-Id", s.key_id},
                         {"X-Loyalty-Timestamp", s.timestamp},
                         {"X-Loyalty-Signature", s.signature}});
  };
  std::string body = R"({"phone":"0772 000 111"})";
  auto ok = send("erp", secret, body, body, now);
  CHECK(ok.status == 201);
  auto replay = send("erp", secret, body, body, now);  // identical signature again
  CHECK(replay.status == 401);
  CHECK(send("erp", "wrong-secret-0123456789-abcdefghijklmno", body, body, now).status == 401);
  CHECK(send("erp", secret, body, body, now - std::chrono::seconds(600)).status == 401);
  CHECK(send("erp", secret, body, R"({"phone":"0772 000 999"})", now + std::chrono::seconds(1))
            .status == 401);
  CHECK(loyalty::test::sql_value(db.owner(), "SELECT count(*) FROM customers") == "1");
}

TEST_CASE(
    "auth: login answers alike for a wrong email and a wrong password, and the 11th "
    "failure is throttled",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db);
  Api api(daemon.port());
  auto creds = loyalty::test::seed_tenant(db, api, "throttle-shop");
  auto wrong_password = api.post("/public/auth/login",
                                 {{"email", creds.admin_email}, {"password", "nope-nope-nope"}});
  auto wrong_email = api.post("/public/auth/login",
                              {{"email", "nobody@throttle-shop.example"}, {"password", "nope"}});
  CHECK(wrong_password.status == 401);
  CHECK(wrong_email.status == 401);
  CHECK(wrong_password.body["detail"] == wrong_email.body["detail"]);
  CHECK(wrong_password.body["type"] == wrong_email.body["type"]);

  for (int i = 0; i < 8; ++i) {
    CHECK(api.post("/public/auth/login", {{"email", creds.admin_email}, {"password", "bad"}})
              .status == 401);
  }
  // Ten failures so far from this address; the next attempt is throttled, even a right one.
  auto throttled = api.post("/public/auth/login",
                            {{"email", creds.admin_email}, {"password", creds.admin_password}});
  CHECK(throttled.status == 429);
  CHECK(!throttled.headers.find("Retry-After")->second.empty());
}

TEST_CASE("auth: a credential over its rate limit gets 429 with Retry-After", "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, {"--rate-limit", "2"});
  Api api(daemon.port());
  auto creds = loyalty::test::seed_tenant(db, api, "rate-shop");
  std::string path = "/v1/tenants/" + creds.tenant_id + "/customers";
  int limited = 0;
  std::string retry_after;
  for (int i = 0; i < 12; ++i) {
    auto res = api.get(path, creds.pos_key);
    if (res.status == 429) {
      ++limited;
      retry_after = res.headers.find("Retry-After")->second;
      CHECK(res.content_type == "application/problem+json");
    }
  }
  CHECK(limited > 0);
  CHECK(std::stoi(retry_after) >= 1);
  // Another credential has its own bucket.
  CHECK(api.get(path, creds.admin_token).status == 200);
}
