// Channels: the tenant's WhatsApp numbers and USSD codes (the dashboard's Channels page).
#include "server.hpp"

#include <loyalty/channels/routes.hpp>

namespace loyaltyd {

namespace {

namespace channels = loyalty::channels;
using nlohmann::json;

void add_channel_routes(Server& server, App& app) {
  server.add({"GET", "/v1/tenants/{tid}/channels", kAnyUser,
              [&app](Request& req) {
                json items = json::array();
                for (const auto& r : channels::tenant_routes(*app.db, req.tenant_id)) {
                  items.push_back(channels::to_api_json(r));
                }
                return Reply::json(200, {{"items", items}});
              },
              "list the tenant's WhatsApp numbers and USSD codes"});
  server.add({"POST", "/v1/tenants/{tid}/channels", kAdmin,
              [&app](Request& req) {
                auto r =
                    channels::add_tenant_route(*app.db, req.tenant_id, actor_of(req),
                                               req.json_body({"channel", "address", "config"}));
                return Reply::json(201, channels::to_api_json(r));
              },
              "route a WhatsApp number or a USSD code to the tenant"});
  server.add({"DELETE", "/v1/tenants/{tid}/channels/{id}", kAdmin,
              [&app](Request& req) {
                channels::remove_tenant_route(*app.db, req.tenant_id, actor_of(req),
                                              req.params["id"]);
                return Reply{204, "application/json", "", {}};
              },
              "stop routing a WhatsApp number or USSD code to the tenant"});
}

const RouteGroup kChannelRoutes(add_channel_routes);

}  // namespace

}  // namespace loyaltyd
