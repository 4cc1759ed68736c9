// A tenant's own settings, changed by its admins (the operator changes them with loyaltyctl
// tenant update).
#include "server.hpp"

#include <loyalty/tenants/tenants.hpp>

namespace loyaltyd {

namespace {

void add_tenant_routes(Server& server, App& app) {
  server.add({"PATCH", "/v1/tenants/{tid}/settings", kAdmin,
              [&app](Request& req) {
                auto body = req.json_body({"points_pending_days"});
                auto tenant =
                    loyalty::tenants::update_settings(*app.db, req.tenant_id, body, actor_of(req));
                return Reply::json(200, loyalty::tenants::to_json(tenant));
              },
              "change the tenant's settings (points_pending_days: the returns window)"});
}

const RouteGroup kTenantRoutes(add_tenant_routes);

}  // namespace

}  // namespace loyaltyd
