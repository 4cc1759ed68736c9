// POST /public/auth/login, /public/auth/refresh, /public/auth/logout
#include "server.hpp"

namespace loyaltyd {

namespace {

nlohmann::json tokens_json(const loyalty::auth::SessionTokens& t) {
  return {{"access_token", t.access_token},
          {"token_type", "Bearer"},
          {"expires_in", t.expires_in},
          {"refresh_token", t.refresh_token},
          {"user", {{"id", t.user_id}, {"tenant_id", t.tenant_id}, {"role", t.role}}}};
}

void add_auth_routes(Server& server, App& app) {
  server.add({"POST", "/public/auth/login", kPublic,
              [&app](Request& req) {
                auto body = req.json_body({"email", "password"});
                auto tokens = app.sessions->login(required_string(body, "email"),
                                                  required_string(body, "password"), req.client_ip);
                return Reply::json(200, tokens_json(tokens));
              },
              "log in"});
  server.add({"POST", "/public/auth/refresh", kPublic,
              [&app](Request& req) {
                auto body = req.json_body({"refresh_token"});
                return Reply::json(
                    200,
                    tokens_json(app.sessions->refresh(required_string(body, "refresh_token"))));
              },
              "rotate a refresh token"});
  server.add({"POST", "/public/auth/logout", kPublic,
              [&app](Request& req) {
                auto body = req.json_body({"refresh_token"});
                app.sessions->logout(required_string(body, "refresh_token"));
                return Reply{204, "application/json", "", {}};
              },
              "revoke a session"});
}

const RouteGroup kAuthRoutes(add_auth_routes);

}  // namespace

}  // namespace loyaltyd
