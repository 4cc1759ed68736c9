// POST /public/ussd/callback: the USSD gateway's callback (Africa's Talking form fields), answered
// in text/plain with "CON " or "END " and a screen of the self-service menu.
#include "edge.hpp"
#include "server.hpp"

#include <loyalty/channels/routes.hpp>
#include <loyalty/core/crypto.hpp>
#include <loyalty/core/phone.hpp>
#include <loyalty/core/utf8.hpp>
#include <loyalty/log/log.hpp>
#include <loyalty/selfservice/ussd.hpp>

#include <spdlog/spdlog.h>

namespace loyaltyd {

namespace {

namespace ussd = loyalty::selfservice::ussd;

constexpr std::size_t kMaxBody = 4096;  // five short fields
constexpr std::size_t kMaxField = 200;  // a sessionId, a number, a code, the inputs
constexpr std::size_t kMaxText = 1000;  // every input of a long session

Reply screen(bool end, const std::string& text) {
  return Reply::text(200, (end ? "END " : "CON ") + text);
}

Reply refused(int status, const std::string& type, const std::string& detail, const Request& req) {
  return problem(status, type, status == 403 ? "Forbidden" : "Bad Request", detail, req.request_id);
}

/// The gateway's secret first, before anything of the request is read; then the form. A
/// refusal, or nothing.
std::optional<Reply> refused_gateway(App& app, Request& req,
                                     std::multimap<std::string, std::string>& form) {
  const std::string& secret = app.settings.ussd_secret;
  if (secret.empty() || !loyalty::crypto::constant_time_equals(req.query("secret"), secret)) {
    return refused(403, "ussd-forbidden", "the callback's secret is missing or wrong", req);
  }
  if (req.raw.body.size() > kMaxBody) {
    return refused(413, "body-too-large", "a USSD callback is a few short fields", req);
  }
  if (!loyalty::utf8::valid(req.raw.body)) {
    return refused(400, "malformed-body", "the form is not valid UTF-8", req);
  }
  parse_query(req.raw.body, form);
  return std::nullopt;
}

std::string field_of(const std::multimap<std::string, std::string>& form, const char* name) {
  auto it = form.find(name);
  return it == form.end() ? std::string() : it->second;
}

Reply callback(App& app, Request& req) {
  std::multimap<std::string, std::string> form;
  if (auto refusal = refused_gateway(app, req, form)) return *refusal;
  auto field = [&](const char* name) { return field_of(form, name); };
  ussd::Request r{field("sessionId"), field("serviceCode"), field("phoneNumber"), field("text")};
  if (r.session_id.empty() || r.service_code.empty() || r.phone.empty() ||
      r.session_id.size() > kMaxField || r.service_code.size() > kMaxField ||
      r.phone.size() > kMaxField || r.text.size() > kMaxText) {
    return refused(400, "malformed-callback",
                   "sessionId, serviceCode and phoneNumber are required, each short", req);
  }
  // Gateways send the number with or without '+'.
  const std::string raw_phone = r.phone.front() == '+' ? r.phone : "+" + r.phone;
  auto phone = loyalty::try_normalize_phone(raw_phone);
  const auto route = loyalty::channels::find_route(*app.db, "ussd", r.service_code);
  const auto& catalogue = loyalty::selfservice::Catalogue::builtin();
  if (!route) {
    spdlog::info(R"("msg":"ussd.unknown_service_code","request_id":{})",
                 loyalty::log::quote(req.request_id));
    return screen(true, catalogue.text("en", "unavailable"));
  }
  if (!phone) return screen(true, catalogue.text("en", "unavailable"));
  r.phone = *phone;
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
  std::multimap<std::string, std::string> form;
  if (auto refusal = refused_gateway(app, req, form)) return *refusal;
  const std::string session = field_of(form, "sessionId"), code = field_of(form, "serviceCode");
  if (session.empty() || code.empty() || session.size() > kMaxField || code.size() > kMaxField) {
    return refused(400, "malformed-callback", "sessionId and serviceCode are required, each short",
                   req);
  }
  bool ended = false;
  if (const auto route = loyalty::channels::find_route(*app.db, "ussd", code)) {
    req.tenant_id = route->tenant_id;
    ended = ussd::end_session(*app.db, route->tenant_id, session);
  }
  // The gateway's status (Success, Incomplete, Failed) and its error say how sessions end: kept
  // in the log, bounded, without the phone number.
  spdlog::info(
      R"("msg":"ussd.session_ended","request_id":{},"status":{},"state_removed":{},"error":{})",
      loyalty::log::quote(req.request_id),
      loyalty::log::quote(loyalty::utf8::storable(field_of(form, "status"), 20)), ended,
      loyalty::log::quote(loyalty::utf8::storable(field_of(form, "errorMessage"), 200)));
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
