// Segments: define them (JsonLogic over the customer and their history), list their members.
#include "server.hpp"

#include <loyalty/segments/segments.hpp>

namespace loyaltyd {

namespace {

namespace segments = loyalty::segments;

void add_segment_routes(Server& server, App& app) {
  server.add({"GET", "/v1/tenants/{tid}/segments", kAnyUser,
              [&app](Request& req) {
                auto page = segments::list_segments(
                    *app.db, req.tenant_id,
                    loyalty::make_page_request(req.query("limit"), req.query("cursor")));
                return Reply::json(
                    200, page_json(page, [](const auto& s) { return segments::to_json(s); }));
              },
              "the tenant's segments, by name"});
  server.add({"POST", "/v1/tenants/{tid}/segments", kAdmin | kManager,
              [&app](Request& req) {
                auto body = req.json_body({"name", "description", "conditions"});
                return Reply::json(201, segments::to_json(segments::create_segment(
                                            *app.db, req.tenant_id, body, actor_of(req))));
              },
              "define a segment"});
  server.add({"GET", "/v1/tenants/{tid}/segments/{id}", kAnyUser,
              [&app](Request& req) {
                return Reply::json(200, segments::to_json(segments::get_segment(
                                            *app.db, req.tenant_id, req.params["id"])));
              },
              "show a segment"});
  server.add({"PUT", "/v1/tenants/{tid}/segments/{id}", kAdmin | kManager,
              [&app](Request& req) {
                auto body = req.json_body({"name", "description", "conditions"});
                return Reply::json(
                    200, segments::to_json(segments::update_segment(
                             *app.db, req.tenant_id, req.params["id"], body, actor_of(req))));
              },
              "replace a segment's definition"});
  server.add({"DELETE", "/v1/tenants/{tid}/segments/{id}", kAdmin | kManager,
              [&app](Request& req) {
                segments::delete_segment(*app.db, req.tenant_id, req.params["id"], actor_of(req));
                return Reply{204, "application/json", "", {}};
              },
              "delete a segment"});
  server.add({"GET", "/v1/tenants/{tid}/segments/{id}/customers", kAnyUser,
              [&app](Request& req) {
                auto page = segments::segment_members(
                    *app.db, req.tenant_id, req.params["id"],
                    loyalty::make_page_request(req.query("limit"), req.query("cursor")));
                return Reply::json(200, page_json(page, [](const auto& c) {
                                     return loyalty::customers::to_json(c);
                                   }));
              },
              "the segment's members, oldest customer first"});
}

const RouteGroup kSegmentRoutes(add_segment_routes);

}  // namespace

}  // namespace loyaltyd
