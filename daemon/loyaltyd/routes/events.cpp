// Events from POS systems, the issuances they created, and redemption at the till.
#include "server.hpp"

#include <loyalty/events/events.hpp>
#include <loyalty/issuances/issuances.hpp>

namespace loyaltyd {

namespace {

using loyalty::issuances::CodeView;

// Admins and managers read voucher codes; viewers and POS keys (HMAC-signed callers included)
// see them masked: a till redeems the code the customer shows and has no need to browse them.
// The answer to the event that issued a code, replays included, keeps it in clear.
CodeView code_view(const Request& req) {
  const auto& role = req.principal.role;
  return role == "admin" || role == "manager" ? CodeView::clear : CodeView::masked;
}

nlohmann::json issuance_json(const Request& req, const loyalty::issuances::Issuance& i) {
  return loyalty::issuances::to_json(i, code_view(req));
}

void add_event_routes(Server& server, App& app) {
  server.add(
      {"POST", "/v1/tenants/{tid}/events", kAdmin | kManager | kPos,
       [&app](Request& req) {
         auto body = req.json_body({"customer", "type", "occurred_at", "data", "idempotency_key"});
         auto answer =
             app.events->process(req.tenant_id, body, req.header("Idempotency-Key"), actor_of(req));
         Reply reply{answer.status, "application/json", answer.body, {}};
         if (answer.replayed) reply.headers.emplace_back("Idempotent-Replayed", "true");
         return reply;
       },
       "post an event"});
  server.add({"GET", "/v1/tenants/{tid}/events/{id}", kAnyone,
              [&app](Request& req) {
                return Reply::json(
                    200, loyalty::events::get_event(*app.db, req.tenant_id, req.params["id"],
                                                    code_view(req)));
              },
              "show an event"});
  server.add({"GET", "/v1/tenants/{tid}/events", kAnyone,
              [&app](Request& req) {
                loyalty::events::EventFilter filter{req.query("customer_id"), req.query("type"),
                                                    req.query("from"), req.query("to")};
                auto page = loyalty::events::list_events(
                    *app.db, req.tenant_id, filter,
                    loyalty::make_page_request(req.query("limit"), req.query("cursor")),
                    code_view(req));
                return Reply::json(200, page_json(page, [](const auto& e) { return e; }));
              },
              "list events"});

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

const RouteGroup kEventRoutes(add_event_routes);

}  // namespace

}  // namespace loyaltyd
