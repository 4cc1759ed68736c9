#include "support/api.hpp"

#include "support/pg.hpp"
#include "support/process.hpp"

#include <loyalty/auth/users.hpp>

#include <stdexcept>

namespace loyalty::test {

std::string TenantCredentials::token(const std::string& role) const {
  if (role == "admin") return admin_token;
  if (role == "manager") return manager_token;
  if (role == "viewer") return viewer_token;
  if (role == "pos") return pos_key;
  return "";
}

Api::Api(int port) : port_(port) {}

ApiResponse Api::send(const std::string& method, const std::string& path, const std::string& body,
                      const std::string& content_type, const std::string& token,
                      const httplib::Headers& extra) {
  httplib::Client client("127.0.0.1", port_);
  client.set_read_timeout(30);
  httplib::Headers headers = extra;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  auto call = [&]() {
    if (method == "GET") return client.Get(path.c_str(), headers);
    if (method == "POST") return client.Post(path.c_str(), headers, body, content_type.c_str());
    if (method == "PATCH") return client.Patch(path.c_str(), headers, body, content_type.c_str());
    if (method == "PUT") return client.Put(path.c_str(), headers, body, content_type.c_str());
    if (method == "DELETE") return client.Delete(path.c_str(), headers);
    throw std::runtime_error("unknown method " + method);
  };
  auto res = call();
  if (!res) throw std::runtime_error("no answer from loyaltyd for " + method + " " + path);
  ApiResponse out;
  out.status = res->status;
  out.content_type = res->get_header_value("Content-Type");
  out.headers = res->headers;
  out.raw = res->body;
  if (!res->body.empty()) out.body = nlohmann::json::parse(res->body, nullptr, false);
  if (out.body.is_discarded()) out.body = nullptr;
  return out;
}

ApiResponse Api::get(const std::string& path, const std::string& token) {
  return send("GET", path, "", "", token);
}
ApiResponse Api::post(const std::string& path, const nlohmann::json& body,
                      const std::string& token) {
  return send("POST", path, body.dump(), "application/json", token);
}
ApiResponse Api::post_raw(const std::string& path, const std::string& body,
                          const std::string& content_type, const std::string& token,
                          const httplib::Headers& headers) {
  return send("POST", path, body, content_type, token, headers);
}
ApiResponse Api::patch(const std::string& path, const nlohmann::json& body,
                       const std::string& token) {
  return send("PATCH", path, body.dump(), "application/json", token);
}
ApiResponse Api::del(const std::string& path, const std::string& token) {
  return send("DELETE", path, "", "", token);
}

TenantCredentials seed_tenant(TestDatabase& db, Api& api, const std::string& slug) {
  TenantCredentials c;
  c.slug = slug;
  c.admin_email = "admin@" + slug + ".example";
  auto r = loyaltyctl(db.owner_url(), {"tenant", "create", "--name", "Tenant " + slug, "--slug",
                                       slug, "--admin-email", c.admin_email, "--json"});
  if (r.exit_code != 0) throw std::runtime_error("tenant create failed: " + r.err);
  auto created = nlohmann::json::parse(r.out);
  c.tenant_id = created["id"];
  c.admin_password = created["admin"]["password"];
  c.pos_key = created["api_key"];
  const std::string password = "correct horse battery staple";
  for (const char* role : {"manager", "viewer"}) {
    auth::create_user(db.owner(), c.tenant_id, std::string(role) + "@" + slug + ".example", role,
                      password, Actor::operator_cli());
  }
  auto login = [&](const std::string& email, const std::string& pw) {
    auto res = api.post("/public/auth/login", {{"email", email}, {"password", pw}});
    if (res.status != 200) throw std::runtime_error("login failed for " + email + ": " + res.raw);
    return res.body;
  };
  auto admin = login(c.admin_email, c.admin_password);
  c.admin_token = admin["access_token"];
  c.admin_refresh_token = admin["refresh_token"];
  c.manager_token = login("manager@" + slug + ".example", password)["access_token"];
  c.viewer_token = login("viewer@" + slug + ".example", password)["access_token"];
  return c;
}

void free_coffee_on_every_visit(Api& api, const TenantCredentials& c) {
  const std::string base = "/v1/tenants/" + c.tenant_id;
  auto must = [](const ApiResponse& r, const char* what) {
    if (r.status != 201) throw std::runtime_error(std::string(what) + ": " + r.raw);
  };
  must(api.post(base + "/reward-catalog",
                {{"name", "Free coffee"},
                 {"type", "physical"},
                 {"currency", "USD"},
                 {"requires_pin", true},
                 {"config", {{"stock", 10}}}},
                c.manager_token),
       "creating the Free coffee reward");
  must(api.post(base + "/rules",
                {{"name", "Any visit"},
                 {"event_type", "visit"},
                 {"conditions", true},
                 {"reward", "Free coffee"}},
                c.manager_token),
       "creating the Any visit rule");
}

}  // namespace loyalty::test
