// Webhooks: admins' subscriptions, their deliveries and attempts, test sends and replays.
#include "server.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/webhooks/deliveries.hpp>
#include <loyalty/webhooks/subscriptions.hpp>

#include <charconv>

namespace loyaltyd {

namespace {

namespace webhooks = loyalty::webhooks;
using nlohmann::json;

const std::vector<std::string> kSubscriptionFields = {"url", "event_types", "description",
                                                      "active"};

/// A delivery id from the path: anything but a positive integer is not found.
std::int64_t delivery_id(const std::string& text) {
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) {
    loyalty::throw_not_found("webhook delivery '" + text + "'");
  }
  return id;
}

/// An action takes no fields: an empty body, or an empty JSON object.
void no_fields(Request& req) {
  if (!req.raw.body.empty()) req.json_body({});
}

json with_secret(const webhooks::CreatedSubscription& created) {
  json out = webhooks::to_json(created.subscription);
  out["secret"] = created.secret;
  return out;
}

void add_webhook_routes(Server& server, App& app) {
  server.add({"POST", "/v1/tenants/{tid}/webhooks", kAdmin,
              [&app](Request& req) {
                auto created = webhooks::create_subscription(*app.db, req.tenant_id, actor_of(req),
                                                             req.json_body(kSubscriptionFields),
                                                             app.webhook_policy);
                return Reply::json(201, with_secret(created));
              },
              "create a webhook subscription (its secret is shown once)"});
  server.add({"GET", "/v1/tenants/{tid}/webhooks", kAdmin,
              [&app](Request& req) {
                auto page = webhooks::list_subscriptions(
                    *app.db, req.tenant_id,
                    loyalty::make_page_request(req.query("limit"), req.query("cursor")));
                return Reply::json(
                    200, page_json(page, [](const auto& s) { return webhooks::to_json(s); }));
              },
              "list webhook subscriptions"});
  server.add({"GET", "/v1/tenants/{tid}/webhooks/{id}", kAdmin,
              [&app](Request& req) {
                return Reply::json(200, webhooks::to_json(webhooks::get_subscription(
                                            *app.db, req.tenant_id, req.params["id"])));
              },
              "show a webhook subscription"});
  server.add({"PATCH", "/v1/tenants/{tid}/webhooks/{id}", kAdmin,
              [&app](Request& req) {
                auto s = webhooks::update_subscription(
                    *app.db, req.tenant_id, actor_of(req), req.params["id"],
                    req.json_body(kSubscriptionFields), app.webhook_policy);
                return Reply::json(200, webhooks::to_json(s));
              },
              "change a webhook subscription (JSON merge patch)"});
  server.add({"DELETE", "/v1/tenants/{tid}/webhooks/{id}", kAdmin,
              [&app](Request& req) {
                webhooks::remove_subscription(*app.db, req.tenant_id, actor_of(req),
                                              req.params["id"]);
                return Reply{204, "application/json", "", {}};
              },
              "remove a webhook subscription with its deliveries"});
  server.add({"POST", "/v1/tenants/{tid}/webhooks/{id}/rotate-secret", kAdmin,
              [&app](Request& req) {
                no_fields(req);
                auto created = webhooks::rotate_secret(*app.db, req.tenant_id, actor_of(req),
                                                       req.params["id"]);
                return Reply::json(200, with_secret(created));
              },
              "a new secret; the old one keeps signing beside it for 24 hours"});
  server.add({"POST", "/v1/tenants/{tid}/webhooks/{id}/test", kAdmin,
              [&app](Request& req) {
                no_fields(req);
                auto delivery =
                    app.webhooks->send_test(req.tenant_id, actor_of(req), req.params["id"]);
                return Reply::json(200, webhooks::to_json(delivery));
              },
              "send a webhook.test message now and answer with its attempt"});
  server.add(
      {"GET", "/v1/tenants/{tid}/webhooks/{id}/deliveries", kAdmin,
       [&app](Request& req) {
         webhooks::get_subscription(*app.db, req.tenant_id, req.params["id"]);
         webhooks::DeliveryFilter filter{req.params["id"], req.query("status"), req.query("since")};
         auto page = webhooks::list_deliveries(
             *app.db, req.tenant_id, filter,
             loyalty::make_page_request(req.query("limit"), req.query("cursor")));
         return Reply::json(200,
                            page_json(page, [](const auto& d) { return webhooks::to_json(d); }));
       },
       "list a subscription's deliveries, newest first"});
  server.add({"GET", "/v1/tenants/{tid}/webhook-deliveries/{id}", kAdmin,
              [&app](Request& req) {
                return Reply::json(
                    200, webhooks::to_json(webhooks::get_delivery(*app.db, req.tenant_id,
                                                                  delivery_id(req.params["id"]))));
              },
              "show a delivery with every attempt"});
  server.add({"POST", "/v1/tenants/{tid}/webhook-deliveries/{id}/replay", kAdmin,
              [&app](Request& req) {
                no_fields(req);
                return Reply::json(200,
                                   webhooks::to_json(webhooks::replay_delivery(
                                       *app.db, req.tenant_id, delivery_id(req.params["id"]))));
              },
              "send a delivery again now, with the same webhook-id"});
}

const RouteGroup kWebhookRoutes(add_webhook_routes);

}  // namespace

}  // namespace loyaltyd
