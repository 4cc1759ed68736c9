// A customer's points: their balance and every movement, with its reason, rule, event, actor
// and lot.
#include "server.hpp"

#include <loyalty/points/points.hpp>

namespace loyaltyd {

namespace {

namespace points = loyalty::points;

void add_points_routes(Server& server, App& app) {
  server.add({"GET", "/v1/tenants/{tid}/customers/{id}/points", kAnyone,
              [&app](Request& req) {
                auto history = points::history(
                    *app.db, req.tenant_id, req.params["id"],
                    loyalty::make_page_request(req.query("limit"), req.query("cursor")));
                return Reply::json(200, points::to_json(history));
              },
              "a customer's points balance and movements, newest first"});
}

const RouteGroup kPointsRoutes(add_points_routes);

}  // namespace

}  // namespace loyaltyd
