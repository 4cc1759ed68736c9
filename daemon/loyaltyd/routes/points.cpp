// A customer's points: their balance and every movement, with its reason, rule, event, actor
// and lot; claims of rewards with points; adjustments by admins.
#include "server.hpp"

#include <loyalty/core/idempotency.hpp>
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
  server.add({"POST", "/v1/tenants/{tid}/customers/{id}/claims", kAdmin | kManager | kPos,
              [&app](Request& req) {
                auto body = req.json_body({"reward", "idempotency_key"});
                // Optional: a claim without one is a new claim.
                std::vector<loyalty::FieldError> errors;
                auto key = loyalty::idempotency_key(body, req.header("Idempotency-Key"), errors);
                if (!errors.empty()) loyalty::throw_invalid("the claim is not valid", errors);
                auto claim = points::claim_reward(*app.db, req.tenant_id, req.params["id"],
                                                  optional_string(body, "reward").value_or(""),
                                                  actor_of(req), std::nullopt, key);
                auto reply = Reply::json(201, points::to_json(claim));
                if (claim.replayed) reply.headers.emplace_back("Idempotent-Replayed", "true");
                return reply;
              },
              "claim a reward with the customer's points"});
  server.add({"POST", "/v1/tenants/{tid}/customers/{id}/points/adjustments", kAdmin,
              [&app](Request& req) {
                auto body = req.json_body({"points", "reason"});
                // Anything but a whole number is 0 and anything but a string empty, which adjust
                // refuses with their pointers (after it found the customer).
                std::int64_t points = body.contains("points") && body["points"].is_number_integer()
                                          ? body["points"].get<std::int64_t>()
                                          : 0;
                std::string reason = body.contains("reason") && body["reason"].is_string()
                                         ? body["reason"].get<std::string>()
                                         : "";
                auto done = points::adjust(*app.db, req.tenant_id, req.params["id"], points, reason,
                                           actor_of(req));
                return Reply::json(201, points::to_json(done));
              },
              "adjust a customer's points up or down, with a reason"});
}

const RouteGroup kPointsRoutes(add_points_routes);

}  // namespace

}  // namespace loyaltyd
