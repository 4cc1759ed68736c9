// The tenant's audit log (admins only).
#include "server.hpp"

#include <loyalty/audit/audit.hpp>

namespace loyaltyd {

namespace {

void add_audit_routes(Server& server, App& app) {
  server.add({"GET", "/v1/tenants/{tid}/audit", kAdmin,
              [&app](Request& req) {
                auto page = loyalty::audit::list_audit(
                    *app.db, req.tenant_id,
                    loyalty::make_page_request(req.query("limit"), req.query("cursor")));
                return Reply::json(200, page_json(page, [](const auto& e) { return e; }));
              },
              "who changed what, newest first"});
}

const RouteGroup kAuditRoutes(add_audit_routes);

}  // namespace

}  // namespace loyaltyd
