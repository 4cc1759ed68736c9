// The reward catalogue and its voucher code pools.
#include "body.hpp"
#include "server.hpp"

#include <loyalty/rewards/rewards.hpp>

#include <sstream>

namespace loyaltyd {

namespace {

const std::vector<std::string> kRewardFields = {
    "name",         "description", "type",        "cost",          "currency",
    "config",       "valid_from",  "valid_until", "validity_days", "budget",
    "requires_pin", "active",      "points_price"};

std::optional<bool> bool_query(const Request& req, const std::string& name) {
  auto value = req.query(name);
  if (value.empty()) return std::nullopt;
  if (value == "true") return true;
  if (value == "false") return false;
  loyalty::throw_invalid("the " + name + " filter is not valid",
                         {{"/" + name, "must be true or false"}});
}

void add_reward_routes(Server& server, App& app) {
  server.add({"POST", "/v1/tenants/{tid}/reward-catalog", kAdmin | kManager,
              [&app](Request& req) {
                auto reward = loyalty::rewards::create_reward(*app.db, req.tenant_id, actor_of(req),
                                                              req.json_body(kRewardFields));
                return Reply::json(201, loyalty::rewards::to_json(reward));
              },
              "add a reward to the catalogue"});
  server.add({"GET", "/v1/tenants/{tid}/reward-catalog", kAnyUser,
              [&app](Request& req) {
                loyalty::rewards::RewardFilter filter{req.query("type"), bool_query(req, "active")};
                auto page = loyalty::rewards::list_rewards(
                    *app.db, req.tenant_id, filter,
                    loyalty::make_page_request(req.query("limit"), req.query("cursor")));
                return Reply::json(200, page_json(page, [](const auto& r) {
                                     return loyalty::rewards::to_json(r);
                                   }));
              },
              "list the catalogue"});
  server.add({"GET", "/v1/tenants/{tid}/reward-catalog/{id}", kAnyUser,
              [&app](Request& req) {
                return Reply::json(200, loyalty::rewards::to_json(loyalty::rewards::get_reward(
                                            *app.db, req.tenant_id, req.params["id"])));
              },
              "show a reward with its code pool"});
  server.add({"PATCH", "/v1/tenants/{tid}/reward-catalog/{id}", kAdmin | kManager,
              [&app](Request& req) {
                auto reward =
                    loyalty::rewards::update_reward(*app.db, req.tenant_id, actor_of(req),
                                                    req.params["id"], req.json_body(kRewardFields));
                return Reply::json(200, loyalty::rewards::to_json(reward));
              },
              "change a reward (JSON merge patch)"});
  server.add({"POST", "/v1/tenants/{tid}/reward-catalog/{id}/upload-codes", kAdmin | kManager,
              [&app](Request& req) {
                auto type = req.header("Content-Type");
                if (type.rfind("text/csv", 0) != 0 && type.rfind("text/plain", 0) != 0) {
                  throw loyalty::Error(loyalty::ErrorCode::invalid, "unsupported-media-type",
                                       "upload codes as text/csv or text/plain, one per line");
                }
                require_utf8_body(req.raw.body);
                std::istringstream codes(req.raw.body);
                auto report = loyalty::rewards::upload_codes(*app.db, req.tenant_id, actor_of(req),
                                                             req.params["id"], codes);
                return Reply::json(200, loyalty::rewards::to_json(report));
              },
              "load voucher codes into a reward's pool"});
}

const RouteGroup kRewardRoutes(add_reward_routes);

}  // namespace

}  // namespace loyaltyd
