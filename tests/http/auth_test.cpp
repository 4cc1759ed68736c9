// Authentication: JWTs checked against an independent implementation (PyJWT), refresh
// rotation and reuse detection, API key revocation, HMAC request signing, login throttling.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>
#include <loyalty/auth/request_signing.hpp>

#include <chrono>
#include <thread>

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
             "algorithms=['HS256'], audience='loyalty-dashboard', issuer='loyaltyd')))",
             creds.admin_token));
  CHECK(claims["tenant_id"] == creds.tenant_id);
  CHECK(claims["role"] == "admin");
  CHECK(claims["iss"] == "loyaltyd");
  CHECK(claims["aud"] == "loyalty-dashboard");
  CHECK(claims["exp"].get<long long>() - claims["iat"].get<long long>() == 900);
  CHECK(api.get(customers, creds.admin_token).status == 200);

  std::string base_claims = "{'sub': '" + claims["sub"].get<std::string>() + "', 'tenant_id': '" +
                            creds.tenant_id + "', 'role': 'admin'";
  std::string good_claims = base_claims + ", 'iss': 'loyaltyd', 'aud': 'loyalty-dashboard'";
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
      {"no iss or aud", "import jwt,sys,time; print(jwt.encode(" + base_claims +
                            ", 'exp': int(time.time())+300}, sys.argv[1], algorithm='HS256', "
                            "headers={'kid':'k1'}))"},
      {"another issuer", "import jwt,sys,time; print(jwt.encode(" + base_claims +
                             ", 'iss': 'someone-else', 'aud': 'loyalty-dashboard', "
                             "'exp': int(time.time())+300}, sys.argv[1], algorithm='HS256', "
                             "headers={'kid':'k1'}))"},
      {"another audience", "import jwt,sys,time; print(jwt.encode(" + base_claims +
                               ", 'iss': 'loyaltyd', 'aud': 'loyalty-pos', "
                               "'exp': int(time.time())+300}, sys.argv[1], algorithm='HS256', "
                               "headers={'kid':'k1'}))"},
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

TEST_CASE("auth: a disabled user's access token is refused within seconds, not at its expiry",
          "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db);
  Api api(daemon.port());
  auto creds = loyalty::test::seed_tenant(db, api, "disable-shop");
  const std::string customers = "/v1/tenants/" + creds.tenant_id + "/customers";
  REQUIRE(api.get(customers, creds.viewer_token).status == 200);

  // Disabled by an operator, in another process: the daemon learns it from the database.
  auto disabled = loyalty::test::loyaltyctl(
      db.owner_url(), {"user", "disable", "--tenant", creds.slug, "viewer@disable-shop.example"});
  INFO(disabled.err);
  REQUIRE(disabled.exit_code == 0);

  // The token has 15 minutes left; it must stop working within the daemon's few seconds of
  // memory. Polled until refused, with a deadline far beyond that memory.
  loyalty::test::ApiResponse res;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  do {
    res = api.get(customers, creds.viewer_token);
    if (res.status != 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < deadline);
  CHECK(res.status == 401);
  CHECK(res.content_type == "application/problem+json");
  CHECK(res.body["detail"].get<std::string>().find("user_inactive") != std::string::npos);
  // Refused for good, and only that user: the others' tokens still work.
  CHECK(api.get(customers, creds.viewer_token).status == 401);
  CHECK(api.get(customers, creds.manager_token).status == 200);
  CHECK(api.get(customers, creds.admin_token).status == 200);
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

namespace {

struct CliTenant {
  std::string id;
  std::string pos_key;
};

/// A tenant made with loyaltyctl alone (no login needed).
CliTenant cli_tenant(TestDatabase& db, const std::string& slug) {
  auto r = loyalty::test::loyaltyctl(
      db.owner_url(), {"tenant", "create", "--name", "Tenant " + slug, "--slug", slug,
                       "--admin-email", "admin@" + slug + ".example", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto created = nlohmann::json::parse(r.out);
  return {created["id"], created["api_key"]};
}

/// Sends a request signed with `key_id`/`secret` over `signed_target`, to `sent_target`.
loyalty::test::ApiResponse send_signed(Api& api, const std::string& method,
                                       const std::string& signed_target,
                                       const std::string& sent_target, const std::string& key_id,
                                       const std::string& secret, const std::string& signed_body,
                                       const std::string& sent_body, std::chrono::sys_seconds at) {
  auto s = loyalty::auth::sign_request(key_id, secret, method, signed_target, signed_body, at);
  return api.send(method, sent_target, sent_body, sent_body.empty() ? "" : "application/json", "",
                  {{"X-Loyalty-Key-Id", s.key_id},
                   {"X-Loyalty-Timestamp", s.timestamp},
                   {"X-Loyalty-Signature", s.signature}});
}

}  // namespace

TEST_CASE(
    "auth: HMAC-signed requests, and a wrong key, stale timestamp, replay, altered body → 401",
    "[http]") {
  TestDatabase db;
  const std::string secret = "hmac-secret-0123456789-abcdefghijklmnopq";
  auto shop = cli_tenant(db, "hmac-shop");
  auto daemon = Daemon::over(db, {},
                             {R"(HMAC_KEYS_JSON={"erp":{"secret":")" + secret +
                              R"(","tenant_id":")" + shop.id + R"("}})"});
  Api api(daemon.port());
  std::string path = "/v1/tenants/" + shop.id + "/customers";
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  auto send = [&](const std::string& key_secret, const std::string& signed_body,
                  const std::string& sent_body, std::chrono::sys_seconds at) {
    return send_signed(api, "POST", path, path, "erp", key_secret, signed_body, sent_body, at);
  };
  std::string body = R"({"phone":"0772 000 111"})";
  auto ok = send(secret, body, body, now);
  CHECK(ok.status == 201);
  auto replay = send(secret, body, body, now);  // identical signature again
  CHECK(replay.status == 401);
  CHECK(send("wrong-secret-0123456789-abcdefghijklmno", body, body, now).status == 401);
  CHECK(send(secret, body, body, now - std::chrono::seconds(600)).status == 401);
  CHECK(send(secret, body, R"({"phone":"0772 000 999"})", now + std::chrono::seconds(1)).status ==
        401);
  CHECK(loyalty::test::sql_value(db.owner(), "SELECT count(*) FROM customers") == "1");
}

TEST_CASE(
    "auth: an HMAC key acts for its own tenant only (another's path is 404, like an API key), "
    "a platform key for any, and the signature covers the query string",
    "[http]") {
  TestDatabase db;
  const std::string erp_secret = "hmac-secret-of-tenant-a-0123456789abcdef";
  const std::string ops_secret = "hmac-secret-of-the-platform-0123456789ab";
  auto a = cli_tenant(db, "hmac-a");
  auto b = cli_tenant(db, "hmac-b");
  auto daemon =
      Daemon::over(db, {},
                   {R"(HMAC_KEYS_JSON={"erp-a":{"secret":")" + erp_secret + R"(","tenant_id":")" +
                    a.id + R"("},"ops":{"secret":")" + ops_secret + R"(","platform":true}})"});
  Api api(daemon.port());
  const std::string a_customers = "/v1/tenants/" + a.id + "/customers";
  const std::string b_customers = "/v1/tenants/" + b.id + "/customers";
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  int tick = 0;  // a fresh timestamp per request, so no request is a replay of another
  auto get = [&](const std::string& key_id, const std::string& secret,
                 const std::string& signed_target, const std::string& sent_target) {
    return send_signed(api, "GET", signed_target, sent_target, key_id, secret, "", "",
                       now + std::chrono::seconds(++tick));
  };

  CHECK(get("erp-a", erp_secret, a_customers, a_customers).status == 200);

  // Tenant A's key, correctly signed for tenant B's path: B does not exist for it, exactly as
  // for A's API key.
  auto foreign = get("erp-a", erp_secret, b_customers, b_customers);
  auto foreign_api_key = api.get(b_customers, a.pos_key);
  CHECK(foreign.status == 404);
  CHECK(foreign.content_type == "application/problem+json");
  CHECK(foreign_api_key.status == 404);
  CHECK(foreign.body["type"] == foreign_api_key.body["type"]);
  CHECK(foreign.body["detail"] == foreign_api_key.body["detail"]);
  auto post_foreign = send_signed(api, "POST", b_customers, b_customers, "erp-a", erp_secret,
                                  R"({"phone":"0772 000 222"})", R"({"phone":"0772 000 222"})",
                                  now + std::chrono::seconds(++tick));
  CHECK(post_foreign.status == 404);
  CHECK(loyalty::test::sql_value(db.owner(), "SELECT count(*) FROM customers") == "0");

  // The platform key the operator marked so acts for every tenant.
  CHECK(get("ops", ops_secret, a_customers, a_customers).status == 200);
  CHECK(get("ops", ops_secret, b_customers, b_customers).status == 200);

  // The query string is signed: the signed one is accepted, a changed one refused.
  const std::string signed_query = a_customers + "?limit=1";
  auto with_query = get("erp-a", erp_secret, signed_query, signed_query);
  CHECK(with_query.status == 200);
  CHECK(with_query.body["items"].is_array());
  for (const std::string& tampered :
       {a_customers + "?limit=2", a_customers + "?limit=1&status=active", a_customers}) {
    INFO(tampered);
    auto res = get("erp-a", erp_secret, signed_query, tampered);
    CHECK(res.status == 401);
    CHECK(res.content_type == "application/problem+json");
  }
}

TEST_CASE("auth: the daemon refuses to start with an HMAC key bound to no tenant", "[http]") {
  TestDatabase db;
  const std::string secret = "hmac-secret-0123456789-abcdefghijklmnopq";
  try {
    Daemon::over(db, {}, {R"(HMAC_KEYS_JSON={"erp":")" + secret + R"("})"});
    FAIL("loyaltyd started with a bare HMAC secret");
  } catch (const std::runtime_error& e) {
    std::string message = e.what();
    INFO(message);
    CHECK(message.find("exited at start") != std::string::npos);
    CHECK(message.find("HMAC key 'erp' must be an object") != std::string::npos);
    CHECK(message.find("platform") != std::string::npos);
    CHECK(message.find(secret) == std::string::npos);
  }
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
