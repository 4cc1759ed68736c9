// A tenant's stored rules, in the rules engine's definition format.
#include "server.hpp"

#include <loyalty/rulesets/rulesets.hpp>

namespace loyaltyd {

namespace {

const std::vector<std::string> kRuleFields = {
    "name", "description", "event_type", "conditions", "reward",      "budget",         "campaign",
    "caps", "priority",    "active",     "valid_from", "valid_until", "stop_processing"};

void add_rule_routes(Server& server, App& app) {
  server.add({"POST", "/v1/tenants/{tid}/rules", kAdmin | kManager,
              [&app](Request& req) {
                auto rule = loyalty::rulesets::create_rule(*app.db, req.tenant_id, actor_of(req),
                                                           req.json_body(kRuleFields));
                return Reply::json(201, loyalty::rulesets::to_json(rule));
              },
              "create a rule"});
  server.add({"GET", "/v1/tenants/{tid}/rules", kAnyUser,
              [&app](Request& req) {
                loyalty::rulesets::RuleFilter filter;
                filter.event_type = req.query("event_type");
                filter.campaign = req.query("campaign");
                auto active = req.query("active");
                if (active == "true" || active == "false") {
                  filter.active = active == "true";
                } else if (!active.empty()) {
                  loyalty::throw_invalid("the active filter is not valid",
                                         {{"/active", "must be true or false"}});
                }
                auto page = loyalty::rulesets::list_rules(
                    *app.db, req.tenant_id, filter,
                    loyalty::make_page_request(req.query("limit"), req.query("cursor")));
                return Reply::json(200, page_json(page, [](const auto& r) {
                                     return loyalty::rulesets::to_json(r);
                                   }));
              },
              "list rules"});
  server.add({"GET", "/v1/tenants/{tid}/rules/{id}", kAnyUser,
              [&app](Request& req) {
                return Reply::json(200, loyalty::rulesets::to_json(loyalty::rulesets::get_rule(
                                            *app.db, req.tenant_id, req.params["id"])));
              },
              "show a rule"});
  server.add({"PATCH", "/v1/tenants/{tid}/rules/{id}", kAdmin | kManager,
              [&app](Request& req) {
                auto rule =
                    loyalty::rulesets::update_rule(*app.db, req.tenant_id, actor_of(req),
                                                   req.params["id"], req.json_body(kRuleFields));
                return Reply::json(200, loyalty::rulesets::to_json(rule));
              },
              "change a rule (JSON merge patch; conditions are replaced whole)"});
  server.add({"DELETE", "/v1/tenants/{tid}/rules/{id}", kAdmin | kManager,
              [&app](Request& req) {
                loyalty::rulesets::delete_rule(*app.db, req.tenant_id, actor_of(req),
                                               req.params["id"]);
                return Reply{204, "application/json", "", {}};
              },
              "delete a rule"});
}

const RouteGroup kRuleRoutes(add_rule_routes);

}  // namespace

}  // namespace loyaltyd
