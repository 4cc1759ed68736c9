// Tiers: the tenant's ladder (admins replace it whole; every user reads it) and a customer's
// tier with its history.
#include "server.hpp"

#include <loyalty/tiers/tiers.hpp>

namespace loyaltyd {

namespace {

namespace tiers = loyalty::tiers;

void add_tiers_routes(Server& server, App& app) {
  server.add({"GET", "/v1/tenants/{tid}/tiers", kAnyUser,
              [&app](Request& req) {
                return Reply::json(200, tiers::to_json(tiers::ladder(*app.db, req.tenant_id)));
              },
              "the tier policy and ladder, lowest tier first"});
  server.add(
      {"PUT", "/v1/tenants/{tid}/tiers", kAdmin,
       [&app](Request& req) {
         auto body = req.json_body({"measure", "window", "window_days", "grace_days", "tiers"});
         auto ladder = tiers::set_ladder(*app.db, req.tenant_id, body, actor_of(req));
         return Reply::json(200, tiers::to_json(ladder));
       },
       "replace the tier policy and the whole ladder"});
  server.add({"GET", "/v1/tenants/{tid}/customers/{id}/tiers", kAnyone,
              [&app](Request& req) {
                return Reply::json(200, tiers::to_json(tiers::customer_tiers(*app.db, req.tenant_id,
                                                                             req.params["id"])));
              },
              "a customer's tier, measure and tier history, newest first"});
}

const RouteGroup kTiersRoutes(add_tiers_routes);

}  // namespace

}  // namespace loyaltyd
