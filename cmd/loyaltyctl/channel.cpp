// loyaltyctl channel add|list|remove: which WhatsApp numbers and USSD codes route to a tenant.
#include "commands.hpp"

#include <loyalty/channels/routes.hpp>
#include <loyalty/core/actor.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <filesystem>
#include <iostream>
#include <vector>

namespace loyaltyctl {

namespace {

namespace channels = loyalty::channels;
using nlohmann::json;

struct Options {
  std::string tenant, whatsapp, ussd, access_token_file, app_secret_file;
  std::vector<std::string> templates;  ///< KIND=NAME[:LANGUAGE]
};

/// --template reward_issued=reward_ready:en → {"reward_issued": {"name", "language"}}.
json templates_of(const std::vector<std::string>& specs) {
  json out = json::object();
  for (const auto& spec : specs) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      loyalty::throw_invalid("--template wants KIND=NAME[:LANGUAGE], got '" + spec + "'");
    }
    std::string name = spec.substr(eq + 1), language = "en";
    if (auto colon = name.find(':'); colon != std::string::npos) {
      language = name.substr(colon + 1);
      name = name.substr(0, colon);
    }
    out[spec.substr(0, eq)] = {{"name", name}, {"language", language}};
  }
  return out;
}

/// A secret file the daemon will read: it must exist now; its contents are never read here.
std::string secret_file(const std::string& path, const char* option) {
  if (path.empty()) return {};
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    loyalty::throw_invalid(std::string(option) + " is not a readable file: " + path);
  }
  return std::filesystem::absolute(path).string();
}

channels::Route route_of(const Options& o) {
  if (o.whatsapp.empty() == o.ussd.empty()) {
    loyalty::throw_invalid("give one of --whatsapp PHONE_NUMBER_ID or --ussd CODE");
  }
  channels::Route r;
  r.channel = o.whatsapp.empty() ? "ussd" : "whatsapp";
  r.address = o.whatsapp.empty() ? o.ussd : o.whatsapp;
  if (r.channel == "whatsapp") {
    if (auto f = secret_file(o.access_token_file, "--access-token-file"); !f.empty())
      r.config["access_token_file"] = f;
    if (auto f = secret_file(o.app_secret_file, "--app-secret-file"); !f.empty())
      r.config["app_secret_file"] = f;
    if (!o.templates.empty()) r.config["templates"] = templates_of(o.templates);
  } else if (!o.access_token_file.empty() || !o.app_secret_file.empty() || !o.templates.empty()) {
    loyalty::throw_invalid(
        "--access-token-file, --app-secret-file and --template are for --whatsapp");
  }
  return r;
}

void print_route(const channels::Route& r) {
  std::cout << r.channel << "  " << r.address;
  for (const auto& [k, v] : r.config.items()) {
    if (k == "templates") {
      for (const auto& [kind, t] : v.items()) {
        std::cout << "  template " << kind << "=" << t.value("name", "") << ":"
                  << t.value("language", "");
      }
    } else {
      std::cout << "  " << k << "=" << (v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  std::cout << "\n";
}

void add_channel_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("channel", "WhatsApp numbers and USSD codes of a tenant");
  group->require_subcommand(1);
  auto o = std::make_shared<Options>();
  auto address_options = [o](CLI::App* cmd) {
    cmd->add_option("--tenant", o->tenant, "tenant id or slug")->required();
    cmd->add_option("--whatsapp", o->whatsapp, "the WhatsApp Business phone number id");
    cmd->add_option("--ussd", o->ussd, "the USSD service code, e.g. '*123#' or '*123*4#'");
  };

  auto* add = group->add_subcommand("add", "route a WhatsApp number or a USSD code to a tenant");
  address_options(add);
  add->add_option("--access-token-file", o->access_token_file,
                  "file holding the number's Graph API access token (else the daemon's)");
  add->add_option("--app-secret-file", o->app_secret_file,
                  "file holding the Meta app secret (else --whatsapp-app-secret)");
  add->add_option("--template", o->templates,
                  "KIND=NAME[:LANGUAGE]: the approved template a notice goes as outside the "
                  "24-hour window (kinds reward_issued, reward_redeemed, reward_expiring, "
                  "points_expiring; repeatable)");
  add_json_flag(add, ctx);
  add->callback([&ctx, o] {
    auto tid = loyalty::tenants::find_tenant(ctx.database(), o->tenant).id;
    auto r = channels::add_route(ctx.database(), tid, route_of(*o), loyalty::Actor::operator_cli());
    ctx.json ? print_json(channels::to_json(r)) : print_route(r);
  });

  auto* list = group->add_subcommand("list", "list a tenant's channels");
  list->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  add_json_flag(list, ctx);
  list->callback([&ctx, o] {
    auto tid = loyalty::tenants::find_tenant(ctx.database(), o->tenant).id;
    auto routes = channels::list_routes(ctx.database(), tid);
    if (ctx.json) {
      json items = json::array();
      for (const auto& r : routes) items.push_back(channels::to_json(r));
      print_json({{"items", items}});
      return;
    }
    for (const auto& r : routes) print_route(r);
  });

  auto* remove = group->add_subcommand("remove", "stop routing a number or code to the tenant");
  address_options(remove);
  remove->callback([&ctx, o] {
    auto tid = loyalty::tenants::find_tenant(ctx.database(), o->tenant).id;
    auto r = route_of(*o);
    channels::remove_route(ctx.database(), tid, r.channel, r.address,
                           loyalty::Actor::operator_cli());
    std::cout << "removed " << r.channel << " " << r.address << "\n";
  });
}

const CommandGroup kChannel(47, add_channel_commands);

}  // namespace

}  // namespace loyaltyctl
