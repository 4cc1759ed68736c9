// Users and API keys of a tenant (admin only).
#include "server.hpp"

#include <loyalty/auth/users.hpp>

namespace loyaltyd {

namespace {

void add_user_routes(Server& server, App& app) {
  server.add({"POST", "/v1/tenants/{tid}/users", kAdmin,
              [&app](Request& req) {
                auto body = req.json_body({"email", "role", "password"});
                std::optional<std::string> password;
                if (body.contains("password")) password = required_string(body, "password");
                auto created = loyalty::auth::create_user(
                    *app.db, req.tenant_id, required_string(body, "email"),
                    required_string(body, "role"), password, actor_of(req));
                auto out = loyalty::auth::to_json(created.user);
                if (!password) out["password"] = created.password;
                return Reply::json(201, out);
              },
              "create a user"});
  server.add({"GET", "/v1/tenants/{tid}/users", kAdmin,
              [&app](Request& req) {
                auto page = loyalty::auth::list_users(
                    *app.db, req.tenant_id,
                    loyalty::make_page_request(req.query("limit"), req.query("cursor")));
                return Reply::json(
                    200, page_json(page, [](const auto& u) { return loyalty::auth::to_json(u); }));
              },
              "list users"});
  server.add({"POST", "/v1/tenants/{tid}/users/{id}/disable", kAdmin,
              [&app](Request& req) {
                auto user = loyalty::auth::disable_user(*app.db, req.tenant_id, req.params["id"],
                                                        actor_of(req));
                return Reply::json(200, loyalty::auth::to_json(user));
              },
              "disable a user"});

  server.add({"POST", "/v1/tenants/{tid}/api-keys", kAdmin,
              [&app](Request& req) {
                auto body = req.json_body({"name", "scopes"});
                std::vector<std::string> scopes = {"pos"};
                if (body.contains("scopes")) {
                  if (!body["scopes"].is_array()) {
                    loyalty::throw_invalid("the API key is not valid",
                                           {{"/scopes", "must be an array of strings"}});
                  }
                  scopes.clear();
                  for (const auto& s : body["scopes"]) {
                    scopes.push_back(s.is_string() ? s.get<std::string>() : "");
                  }
                }
                auto created = loyalty::auth::create_api_key(
                    *app.db, req.tenant_id, required_string(body, "name"), scopes, actor_of(req));
                auto out = loyalty::auth::to_json(created.info);
                out["key"] = created.key;
                return Reply::json(201, out);
              },
              "create a POS API key"});
  server.add({"GET", "/v1/tenants/{tid}/api-keys", kAdmin,
              [&app](Request& req) {
                auto page = loyalty::auth::list_api_keys(
                    *app.db, req.tenant_id,
                    loyalty::make_page_request(req.query("limit"), req.query("cursor")));
                return Reply::json(
                    200, page_json(page, [](const auto& k) { return loyalty::auth::to_json(k); }));
              },
              "list API keys"});
  server.add({"DELETE", "/v1/tenants/{tid}/api-keys/{id}", kAdmin,
              [&app](Request& req) {
                auto key = loyalty::auth::revoke_api_key(*app.db, req.tenant_id, req.params["id"],
                                                         actor_of(req));
                return Reply::json(200, loyalty::auth::to_json(key));
              },
              "revoke an API key"});
}

const RouteGroup kUserRoutes(add_user_routes);

}  // namespace

}  // namespace loyaltyd
