// The dashboard's figures: a period's summary against the previous one, and time series.
#include "server.hpp"

#include <loyalty/analytics/analytics.hpp>

namespace loyaltyd {

namespace {

void add_analytics_routes(Server& server, App& app) {
  server.add({"GET", "/v1/tenants/{tid}/analytics/summary", kAnyUser,
              [&app](Request& req) {
                return Reply::json(
                    200, loyalty::analytics::to_json(loyalty::analytics::summary(
                             *app.db, req.tenant_id, {req.query("from"), req.query("to")})));
              },
              "a period's figures against the previous period"});
  server.add({"GET", "/v1/tenants/{tid}/analytics/series", kAnyUser,
              [&app](Request& req) {
                loyalty::analytics::SeriesRequest request{req.query("metric"),
                                                          req.query("interval"),
                                                          req.query("by"),
                                                          {req.query("from"), req.query("to")}};
                return Reply::json(200, loyalty::analytics::to_json(loyalty::analytics::series(
                                            *app.db, req.tenant_id, request)));
              },
              "a metric over time in the tenant's local buckets"});
}

const RouteGroup kAnalyticsRoutes(add_analytics_routes);

}  // namespace

}  // namespace loyaltyd
