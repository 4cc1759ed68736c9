// Referrals: linking a customer to the one who referred them, and a customer's referrals.
#include "server.hpp"

#include <loyalty/referrals/referrals.hpp>

namespace loyaltyd {

namespace {

namespace referrals = loyalty::referrals;

void add_referral_routes(Server& server, App& app) {
  server.add({"POST", "/v1/tenants/{tid}/customers/{id}/referrer", kAdmin | kManager | kPos,
              [&app](Request& req) {
                auto body = req.json_body({"referral_code", "channel"});
                auto referral = referrals::link_referrer(
                    *app.db, req.tenant_id, req.params["id"],
                    optional_string(body, "referral_code").value_or(""),
                    optional_string(body, "channel").value_or("api"), actor_of(req));
                return Reply::json(201, referrals::to_json(referral));
              },
              "link a customer with no events yet to the owner of a referral code"});
  server.add({"GET", "/v1/tenants/{tid}/customers/{id}/referrals", kAnyone,
              [&app](Request& req) {
                auto page = referrals::list_referrals(
                    *app.db, req.tenant_id, req.params["id"],
                    loyalty::make_page_request(req.query("limit"), req.query("cursor")));
                return Reply::json(200, referrals::to_json(page));
              },
              "the referral that brought a customer in and those they made, newest first"});
}

const RouteGroup kReferralRoutes(add_referral_routes);

}  // namespace

}  // namespace loyaltyd
