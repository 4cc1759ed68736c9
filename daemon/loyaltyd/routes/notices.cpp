// GET /v1/tenants/:tid/notifications: what became of the tenant's WhatsApp notices and replies
// (sent, delivered, read, failed with Meta's code, cancelled and why), for its staff.
#include "server.hpp"

#include <loyalty/notices/history.hpp>

namespace loyaltyd {

namespace {

namespace notices = loyalty::notices;

void add_notice_routes(Server& server, App& app) {
  server.add({"GET", "/v1/tenants/{tid}/notifications", kAnyUser,
              [&app](Request& req) {
                notices::NotificationFilter filter{req.query("status"), req.query("kind"),
                                                   req.query("customer_id")};
                auto page = notices::list_notifications(
                    *app.db, req.tenant_id, filter,
                    loyalty::make_page_request(req.query("limit"), req.query("cursor")));
                return Reply::json(
                    200, page_json(page, [](const auto& n) { return notices::to_json(n); }));
              },
              "list notices and replies, newest first"});
}

const RouteGroup kNoticeRoutes(add_notice_routes);

}  // namespace

}  // namespace loyaltyd
