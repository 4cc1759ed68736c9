// POST /public/ussd/callback: the USSD gateway's callback (Africa's Talking form fields), answered
// in text/plain with "CON " or "END " and a screen of the self-service menu.
#include "edge.hpp"
#include "server.hpp"

#include <loyalty/channels/routes.hpp>
#include <loyalty/core/crypto.hpp>
#include <loyalty/log/log.hpp>
#include <loyalty/selfservice/ussd.hpp>

#include <spdlog/spdlog.h>

namespace loyaltyd {

namespace {

namespace ussd = loyalty::selfservice::ussd;

Reply screen(bool end, const std::string& text) {
  return Reply::text(200, (end ? "END " : "CON ") + text);
}

Reply refused(int status, const std::string& type, const std::string& detail, const Request& req) {
  return problem(status, type, status == 403 ? "Forbidden" : "Bad Request", detail, req.request_id);
}

/// The gateway's secret and address first, before anything of the request is read. A refusal,
/// or nothing.
std::optional<Reply> refused_gateway(App& app, Request& req) {
  const std::string& secret = app.settings.ussd_secret;
  if (secret.empty() || !loyalty::crypto::constant_time_equals(req.query("secret"), secret)) {
    return refused(403, "ussd-forbidden", "the callback's secret is missing or wrong", req);
  }
  if (!app.ussd_gateways.empty() && !app.ussd_gateways.contains(req.client_ip)) {
    return refused(403, "ussd-forbidden", "the callback did not come from an allowed address", req);
  }
  if (req.raw.body.size() > ussd::kMaxCallbackBytes) {
    return refused(413, "body-too-large", "a USSD callback is a few short fields", req);
  }
  return std::nullopt;
}

Reply callback(App& app, Request& req) {
  if (auto refusal = refused_gateway(app, req)) return *refusal;
  const ussd::Request r = ussd::parse_callback(req.raw.body);
  const auto route = loyalty::channels::find_route(*app.db, "ussd", r.service_code);
  const auto& catalogue = loyalty::selfservice::Catalogue::builtin();
  if (!route) {
    spdlog::info(R"("msg":"ussd.unknown_service_code","request_id":{})",
                 loyalty::log::quote(req.request_id));
    return screen(true, catalogue.text("en", "unavailable"));
  }
  if (r.phone.empty()) return screen(true, catalogue.text("en", "unavailable"));
  req.tenant_id = route->tenant_id;
  try {
    auto reply = ussd::answer(*app.db, route->tenant_id, r);
    return screen(reply.end, reply.screen);
  } catch (const std::exception& e) {
    // The gateway ends a session on an HTTP error anyway: end it politely instead.
    spdlog::error(R"("msg":"ussd.failed","request_id":{},"tenant":{},"error":{})",
                  loyalty::log::quote(req.request_id), loyalty::log::quote(route->tenant_id),
                  loyalty::log::quote(e.what()));
    return screen(true, catalogue.text("en", "error"));
  }
}

/// The end-of-session notification (Africa's Talking's "Events URL"): the session's state goes
/// at once. Answered 200 whatever the session, so the gateway does not retry.
Reply session_ended(App& app, Request& req) {
  if (auto refusal = refused_gateway(app, req)) return *refusal;
  const ussd::SessionEnd e = ussd::parse_session_end(req.raw.body);
  bool ended = false;
  if (const auto route = loyalty::channels::find_route(*app.db, "ussd", e.service_code)) {
    req.tenant_id = route->tenant_id;
    ended = ussd::end_session(*app.db, route->tenant_id, e.session_id);
  }
  // The gateway's status (Success, Incomplete, Failed) and its error say how sessions end: kept
  // in the log, bounded, without the phone number.
  spdlog::info(
      R"("msg":"ussd.session_ended","request_id":{},"status":{},"state_removed":{},"error":{})",
      loyalty::log::quote(req.request_id), loyalty::log::quote(e.status), ended,
      loyalty::log::quote(e.error_message));
  return Reply::json(200, {{"session_removed", ended}});
}

void add_ussd_routes(Server& server, App& app) {
  server.add({"POST", "/public/ussd/events", kPublic,
              [&app](Request& req) { return session_ended(app, req); },
              "USSD gateway end-of-session notification"});
  server.add({"POST", "/public/ussd/callback", kPublic,
              [&app](Request& req) { return callback(app, req); },
              "USSD gateway callback (Africa's Talking form)"});
}

const RouteGroup kUssdRoutes(add_ussd_routes);

}  // namespace

}  // namespace loyaltyd
