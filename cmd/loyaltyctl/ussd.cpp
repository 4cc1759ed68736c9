// loyaltyctl ussd simulate: an operator plays the USSD gateway against a running loyaltyd, screen
// by screen, to check a tenant's menus as a customer sees them.
#include "commands.hpp"

#include <loyalty/channels/routes.hpp>
#include <loyalty/core/crypto.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/core/form.hpp>
#include <loyalty/core/phone.hpp>
#include <loyalty/outbound/http_client.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <unistd.h>

#include <iostream>
#include <string>

namespace loyaltyctl {

namespace {

namespace outbound = loyalty::outbound;

struct Options {
  std::string tenant, phone, url, service_code, network_code = "64804";
};

/// The daemon's base URL: --url, else the address loyaltyd listens on (--listen).
std::string base_url(const Options& o, const loyalty::config::Settings& settings) {
  std::string url = o.url.empty() ? "http://" + settings.listen : o.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    loyalty::throw_invalid("--url wants http://HOST:PORT or https://HOST, got '" + url + "'");
  }
  return url;
}

/// The tenant's service code: --service-code when it is one of the tenant's, else its first.
std::string service_code_of(loyalty::db::Database& db, const std::string& tenant_id,
                            const std::string& wanted) {
  for (const auto& r : loyalty::channels::list_routes(db, tenant_id)) {
    if (r.channel == "ussd" && (wanted.empty() || r.address == wanted)) return r.address;
  }
  if (!wanted.empty()) {
    throw loyalty::Error(loyalty::ErrorCode::not_found, "channel-not-found",
                         "the tenant has no USSD code " + wanted);
  }
  throw loyalty::Error(loyalty::ErrorCode::not_found, "channel-not-found",
                       "the tenant has no USSD code (loyaltyctl channel add --ussd)");
}

/// One gateway callback. The body answered: "CON ..." or "END ...".
std::string call(outbound::HttpClient& client, const std::string& url, const std::string& form) {
  outbound::Request req;
  req.url = url;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  req.body = form;
  req.timeout = std::chrono::milliseconds(10000);  // the gateways' own limit
  auto res = client.send(std::move(req));
  if (res.status == 0) {
    throw loyalty::Error(loyalty::ErrorCode::unavailable, "daemon-unreachable",
                         "no answer from loyaltyd: " + res.error);
  }
  if (res.status == 403) {
    throw loyalty::Error(loyalty::ErrorCode::forbidden, "ussd-forbidden",
                         "loyaltyd refused the USSD secret (set the same --ussd-secret, or "
                         "LOYALTY_USSD_SECRET, for loyaltyctl)");
  }
  if (res.status != 200) {
    throw loyalty::Error(loyalty::ErrorCode::internal, "ussd-callback-failed",
                         "loyaltyd answered HTTP " + std::to_string(res.status));
  }
  return res.body;
}

void simulate(Context& ctx, const Options& o) {
  const std::string& secret = ctx.settings.ussd_secret;
  if (secret.empty()) {
    loyalty::throw_invalid(
        "no USSD secret: set ussd-secret in the configuration, or LOYALTY_USSD_SECRET, to the "
        "daemon's");
  }
  const auto phone = loyalty::try_normalize_phone(o.phone);
  if (!phone) loyalty::throw_invalid("--phone is not a phone number: " + o.phone);
  const std::string base = base_url(o, ctx.settings);
  auto& db = ctx.database();
  const auto tenant = loyalty::tenants::find_tenant(db, o.tenant);
  const std::string code = service_code_of(db, tenant.id, o.service_code);

  outbound::ClientOptions options;
  options.policy.allow_http = true;  // the operator's own daemon, often on loopback
  options.policy.allow_private = true;
  options.keep_body_bytes = 4096;
  outbound::HttpClient client(options);

  const std::string query = "?secret=" + loyalty::percent_encode(secret);
  const std::string session = "sim-" + loyalty::crypto::random_string(16, "0123456789abcdef");
  const bool interactive = ::isatty(STDIN_FILENO) != 0;
  std::cout << "Dialling " << code << " as " << *phone << " (session " << session << ")\n";
  std::string text;
  bool first = true;
  for (;;) {
    const std::string answer = call(client, base + "/public/ussd/callback" + query,
                                    loyalty::form_encode({{"sessionId", session},
                                                          {"serviceCode", code},
                                                          {"phoneNumber", *phone},
                                                          {"networkCode", o.network_code},
                                                          {"text", text}}));
    const bool ends = answer.rfind("END ", 0) == 0;
    std::cout << "\n" << (answer.size() >= 4 ? answer.substr(4) : answer) << "\n";
    if (ends) {
      std::cout << "[session ended]\n";
      return;
    }
    std::cout << "> " << std::flush;
    std::string input;
    if (!std::getline(std::cin, input)) {
      // Hung up: tell the daemon as the gateway's end-of-session notification would.
      std::cout << "\n[hung up]\n";
      call(client, base + "/public/ussd/events" + query,
           loyalty::form_encode({{"sessionId", session},
                                 {"serviceCode", code},
                                 {"phoneNumber", *phone},
                                 {"status", "Incomplete"}}));
      return;
    }
    if (!interactive) std::cout << input << "\n";
    text += (first ? "" : "*") + input;
    first = false;
  }
}

void add_ussd_commands(CLI::App& app, Context& ctx) {
  auto* ussd = app.add_subcommand("ussd", "try a tenant's USSD menu");
  ussd->require_subcommand(1);
  auto o = std::make_shared<Options>();
  auto* sim = ussd->add_subcommand(
      "simulate",
      "play the USSD gateway against a running loyaltyd: each screen is printed, each line read "
      "from stdin is the next input; end of input hangs up");
  sim->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  sim->add_option("--phone", o->phone, "the customer's phone number")->required();
  sim->add_option("--url", o->url, "loyaltyd's base URL (default: http:// and --listen)");
  sim->add_option("--service-code", o->service_code,
                  "one of the tenant's USSD codes (default: its first)");
  sim->add_option("--network-code", o->network_code, "the gateway's network code")
      ->default_val("64804");
  sim->callback([&ctx, o] { simulate(ctx, *o); });
}

const CommandGroup kUssd(49, add_ussd_commands);

}  // namespace

}  // namespace loyaltyctl
