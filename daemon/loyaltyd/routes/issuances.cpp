// Issuances: listing and reading them, redemption by id or by code at the till, cancellation.
#include "routes/code_view.hpp"
#include "server.hpp"

#include <loyalty/issuances/issuances.hpp>

namespace loyaltyd {

namespace {

void add_issuance_routes(Server& server, App& app) {
  server.add({"GET", "/v1/tenants/{tid}/issuances", kAnyone,
              [&app](Request& req) {
                loyalty::issuances::IssuanceFilter filter{req.query("customer_id"),
                                                          req.query("state"), req.query("event_id"),
                                                          req.query("reward_id")};
                auto page = loyalty::issuances::list_issuances(
                    *app.db, req.tenant_id, filter,
                    loyalty::make_page_request(req.query("limit"), req.query("cursor")));
                return Reply::json(200, page_json(page, [&req](const auto& i) {
                                     return loyalty::issuances::to_json(i, code_view(req));
                                   }));
              },
              "list issuances"});
  server.add({"GET", "/v1/tenants/{tid}/issuances/{id}", kAnyone,
              [&app](Request& req) {
                return Reply::json(
                    200, issuance_json(req, loyalty::issuances::get_issuance(*app.db, req.tenant_id,
                                                                             req.params["id"])));
              },
              "show an issuance"});
  server.add({"POST", "/v1/tenants/{tid}/issuances/{id}/redeem", kAdmin | kManager | kPos,
              [&app](Request& req) {
                std::optional<std::string> code, pin;
                if (req.has_body()) {
                  auto body = req.json_body({"code", "pin"});
                  code = optional_string(body, "code");
                  pin = optional_string(body, "pin");
                }
                return Reply::json(
                    200, issuance_json(req, loyalty::issuances::redeem(*app.db, req.tenant_id,
                                                                       req.params["id"], code, pin,
                                                                       actor_of(req))));
              },
              "redeem an issuance"});
  server.add({"POST", "/v1/tenants/{tid}/issuances/{id}/cancel", kAdmin | kManager,
              [&app](Request& req) {
                std::string reason = "cancelled";
                if (req.has_body()) {
                  auto body = req.json_body({"reason"});
                  if (body.contains("reason")) reason = required_string(body, "reason");
                }
                return Reply::json(
                    200, issuance_json(req, loyalty::issuances::cancel(*app.db, req.tenant_id,
                                                                       req.params["id"], reason,
                                                                       actor_of(req))));
              },
              "cancel an issuance"});
  server.add({"POST", "/v1/tenants/{tid}/redemptions", kAdmin | kManager | kPos,
              [&app](Request& req) {
                auto body = req.json_body({"code", "pin"});
                return Reply::json(
                    200,
                    issuance_json(req, loyalty::issuances::redeem_by_code(
                                           *app.db, req.tenant_id, required_string(body, "code"),
                                           optional_string(body, "pin"), actor_of(req))));
              },
              "redeem a voucher code at the till"});
}

const RouteGroup kIssuanceRoutes(add_issuance_routes);

}  // namespace

}  // namespace loyaltyd
