// Campaigns: status and dates that switch their rules on and off.
#include "server.hpp"

#include <loyalty/campaigns/campaigns.hpp>

namespace loyaltyd {

namespace {

const std::vector<std::string> kCampaignFields = {"name",      "description", "status",
                                                  "starts_at", "ends_at",     "budget"};

void add_campaign_routes(Server& server, App& app) {
  server.add({"POST", "/v1/tenants/{tid}/campaigns", kAdmin | kManager,
              [&app](Request& req) {
                auto campaign = loyalty::campaigns::create_campaign(
                    *app.db, req.tenant_id, actor_of(req), req.json_body(kCampaignFields));
                return Reply::json(201, loyalty::campaigns::to_json(campaign));
              },
              "create a campaign"});
  server.add({"GET", "/v1/tenants/{tid}/campaigns", kAnyUser,
              [&app](Request& req) {
                auto page = loyalty::campaigns::list_campaigns(
                    *app.db, req.tenant_id, req.query("status"),
                    loyalty::make_page_request(req.query("limit"), req.query("cursor")));
                return Reply::json(200, page_json(page, [](const auto& c) {
                                     return loyalty::campaigns::to_json(c);
                                   }));
              },
              "list campaigns"});
  server.add({"GET", "/v1/tenants/{tid}/campaigns/{id}", kAnyUser,
              [&app](Request& req) {
                return Reply::json(200,
                                   loyalty::campaigns::to_json(loyalty::campaigns::get_campaign(
                                       *app.db, req.tenant_id, req.params["id"])));
              },
              "show a campaign"});
  server.add({"PATCH", "/v1/tenants/{tid}/campaigns/{id}", kAdmin | kManager,
              [&app](Request& req) {
                auto campaign = loyalty::campaigns::update_campaign(*app.db, req.tenant_id,
                                                                    actor_of(req), req.params["id"],
                                                                    req.json_body(kCampaignFields));
                return Reply::json(200, loyalty::campaigns::to_json(campaign));
              },
              "change a campaign (JSON merge patch)"});
}

const RouteGroup kCampaignRoutes(add_campaign_routes);

}  // namespace

}  // namespace loyaltyd
