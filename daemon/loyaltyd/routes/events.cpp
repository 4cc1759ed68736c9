// Events from POS systems (the issuances they created and redemption at the till: issuances.cpp).
#include "routes/code_view.hpp"
#include "server.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/events/events.hpp>

namespace loyaltyd {

namespace {

void add_event_routes(Server& server, App& app) {
  server.add(
      {"POST", "/v1/tenants/{tid}/events", kAdmin | kManager | kPos,
       [&app](Request& req) {
         auto body = req.json_body({"customer", "type", "occurred_at", "data", "idempotency_key"});
         // The platform's own events, processed by the worker: a till cannot make them up.
         if (body.contains("type") && body["type"] == "referral.completed") {
           loyalty::throw_invalid("the event is not valid",
                                  {{"/type",
                                    "referral.completed is sent by the platform itself "
                                    "when a referral completes"}});
         }
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
}

const RouteGroup kEventRoutes(add_event_routes);

}  // namespace

}  // namespace loyaltyd
