// loyaltyctl user create|list|disable, apikey create|list|revoke
#include "commands.hpp"

#include <loyalty/auth/users.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <iostream>

namespace loyaltyctl {

namespace {

std::string tenant_id(Context& ctx, const std::string& ref) {
  return loyalty::tenants::find_tenant(ctx.database(), ref).id;
}

void add_user_commands(CLI::App& app, Context& ctx) {
  auto* user = app.add_subcommand("user", "dashboard users of a tenant");
  user->require_subcommand(1);

  struct Options {
    std::string tenant, email, role = "viewer", id;
  };
  auto o = std::make_shared<Options>();

  auto* create =
      user->add_subcommand("create", "create a user; the generated password is printed once");
  create->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  create->add_option("--email", o->email, "login email")->required();
  create->add_option("--role", o->role, "admin, manager or viewer")->capture_default_str();
  add_json_flag(create, ctx);
  create->callback([&ctx, o] {
    auto created =
        loyalty::auth::create_user(ctx.database(), tenant_id(ctx, o->tenant), o->email, o->role,
                                   std::nullopt, loyalty::Actor::operator_cli());
    if (ctx.json) {
      auto out = loyalty::auth::to_json(created.user);
      out["password"] = created.password;
      print_json(out);
      return;
    }
    std::cout << "user " << created.user.email << " (" << created.user.role
              << ") created: " << created.user.id << "\npassword: " << created.password
              << "\nThe password is shown only now.\n";
  });

  auto* list = user->add_subcommand("list", "list users");
  list->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  add_json_flag(list, ctx);
  list->callback([&ctx, o] {
    auto tid = tenant_id(ctx, o->tenant);
    auto users = all_pages<loyalty::auth::User>([&](const loyalty::PageRequest& page) {
      return loyalty::auth::list_users(ctx.database(), tid, page);
    });
    if (ctx.json) {
      auto out = nlohmann::json::array();
      for (const auto& u : users) out.push_back(loyalty::auth::to_json(u));
      print_json(out);
      return;
    }
    for (const auto& u : users) {
      std::cout << u.id << "  " << u.email << "  " << u.role << "  " << u.status << "\n";
    }
  });

  auto* disable = user->add_subcommand("disable", "disable a user and end their sessions");
  disable->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  disable->add_option("user", o->id, "user id or email")->required();
  add_json_flag(disable, ctx);
  disable->callback([&ctx, o] {
    auto tid = tenant_id(ctx, o->tenant);
    auto found = loyalty::auth::find_user(ctx.database(), tid, o->id);
    auto u =
        loyalty::auth::disable_user(ctx.database(), tid, found.id, loyalty::Actor::operator_cli());
    if (ctx.json) {
      print_json(loyalty::auth::to_json(u));
    } else {
      std::cout << "user " << u.email << " disabled\n";
    }
  });
}

void add_apikey_commands(CLI::App& app, Context& ctx) {
  auto* apikey = app.add_subcommand("apikey", "POS API keys of a tenant");
  apikey->require_subcommand(1);
  struct Options {
    std::string tenant, name, key;
  };
  auto o = std::make_shared<Options>();

  auto* create = apikey->add_subcommand("create", "create a POS API key; printed once");
  create->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  create->add_option("--name", o->name, "what the key is for, e.g. 'Till 3'")->required();
  add_json_flag(create, ctx);
  create->callback([&ctx, o] {
    auto created = loyalty::auth::create_api_key(ctx.database(), tenant_id(ctx, o->tenant), o->name,
                                                 {"pos"}, loyalty::Actor::operator_cli());
    if (ctx.json) {
      auto out = loyalty::auth::to_json(created.info);
      out["key"] = created.key;
      print_json(out);
      return;
    }
    std::cout << "API key " << created.info.prefix << " (" << created.info.name << ") created:\n"
              << created.key << "\nThe key is shown only now.\n";
  });

  auto* list = apikey->add_subcommand("list", "list keys (prefixes only)");
  list->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  add_json_flag(list, ctx);
  list->callback([&ctx, o] {
    auto tid = tenant_id(ctx, o->tenant);
    auto keys = all_pages<loyalty::auth::ApiKeyInfo>([&](const loyalty::PageRequest& page) {
      return loyalty::auth::list_api_keys(ctx.database(), tid, page);
    });
    if (ctx.json) {
      auto out = nlohmann::json::array();
      for (const auto& k : keys) out.push_back(loyalty::auth::to_json(k));
      print_json(out);
      return;
    }
    for (const auto& k : keys) {
      std::cout << k.prefix << "  " << k.name << "  "
                << (k.revoked_at.empty() ? "active" : "revoked " + k.revoked_at) << "  last used "
                << (k.last_used_at.empty() ? "never" : k.last_used_at) << "\n";
    }
  });

  auto* revoke = apikey->add_subcommand("revoke", "revoke a key; it stops working at once");
  revoke->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  revoke->add_option("key", o->key, "key id or prefix")->required();
  add_json_flag(revoke, ctx);
  revoke->callback([&ctx, o] {
    auto k = loyalty::auth::revoke_api_key(ctx.database(), tenant_id(ctx, o->tenant), o->key,
                                           loyalty::Actor::operator_cli());
    if (ctx.json) {
      print_json(loyalty::auth::to_json(k));
    } else {
      std::cout << "API key " << k.prefix << " revoked\n";
    }
  });
}

const CommandGroup kUser(32, add_user_commands);
const CommandGroup kApiKey(34, add_apikey_commands);

}  // namespace

}  // namespace loyaltyctl
