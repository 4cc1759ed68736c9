// loyaltyctl tenant create|list|show|suspend|update
#include "commands.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <iostream>

namespace loyaltyctl {

namespace {

void print_tenant(const loyalty::tenants::Tenant& t) {
  std::cout << "id:        " << t.id << "\n"
            << "slug:      " << t.slug << "\n"
            << "name:      " << t.name << "\n"
            << "timezone:  " << t.timezone << "\n"
            << "currency:  " << t.currency << "\n"
            << "status:    " << t.status << "\n"
            << "settings:  " << t.settings.dump() << "\n"
            << "created:   " << t.created_at << "\n";
}

}  // namespace

void add_tenant_commands(CLI::App& app, Context& ctx) {
  auto* tenant = app.add_subcommand("tenant", "onboard and manage tenants (merchants)");
  tenant->require_subcommand(1);

  auto req = std::make_shared<loyalty::tenants::CreateTenantRequest>();
  auto email = std::make_shared<std::string>();
  auto* create = tenant->add_subcommand(
      "create", "create a tenant, with --admin-email also its first admin user and a POS API key");
  create->add_option("--name", req->name, "display name")->required();
  create->add_option("--slug", req->slug, "short unique name: a-z, 0-9, '-'")->required();
  create->add_option("--timezone", req->timezone, "IANA time zone")->capture_default_str();
  create->add_option("--currency", req->currency, "USD or ZWG")->capture_default_str();
  auto* email_opt = create->add_option("--admin-email", *email, "email of the first admin user");
  add_json_flag(create, ctx);
  create->callback([&ctx, req, email, email_opt] {
    if (email_opt->count() > 0) req->admin_email = *email;
    auto created = loyalty::tenants::create_tenant(ctx.database(), *req);
    if (ctx.json) {
      auto out = loyalty::tenants::to_json(created.tenant);
      if (created.admin_email) {
        out["admin"] = {{"id", *created.admin_user_id},
                        {"email", *created.admin_email},
                        {"password", *created.admin_password}};
        out["api_key"] = *created.api_key;
      }
      print_json(out);
      return;
    }
    print_tenant(created.tenant);
    if (created.admin_email) {
      std::cout << "\nadmin user: " << *created.admin_email << "\n"
                << "password:   " << *created.admin_password << "\n"
                << "POS API key: " << *created.api_key << "\n"
                << "\nThe password and the API key are shown only now: keep them safe.\n";
    }
  });

  auto* list = tenant->add_subcommand("list", "list tenants");
  add_json_flag(list, ctx);
  list->callback([&ctx] {
    auto tenants = loyalty::tenants::list_tenants(ctx.database());
    if (ctx.json) {
      auto out = nlohmann::json::array();
      for (const auto& t : tenants) out.push_back(loyalty::tenants::to_json(t));
      print_json(out);
      return;
    }
    for (const auto& t : tenants) {
      std::cout << t.id << "  " << t.slug << "  " << t.status << "  " << t.name << "\n";
    }
  });

  auto ref = std::make_shared<std::string>();
  auto* show = tenant->add_subcommand("show", "show one tenant");
  show->add_option("tenant", *ref, "tenant id or slug")->required();
  add_json_flag(show, ctx);
  show->callback([&ctx, ref] {
    auto t = loyalty::tenants::find_tenant(ctx.database(), *ref);
    ctx.json ? print_json(loyalty::tenants::to_json(t)) : print_tenant(t);
  });

  auto* suspend =
      tenant->add_subcommand("suspend", "suspend a tenant (its users and keys stop working)");
  suspend->add_option("tenant", *ref, "tenant id or slug")->required();
  add_json_flag(suspend, ctx);
  suspend->callback([&ctx, ref] {
    auto t = loyalty::tenants::suspend_tenant(ctx.database(), *ref);
    ctx.json ? print_json(loyalty::tenants::to_json(t)) : print_tenant(t);
  });

  auto tenant_ref = std::make_shared<std::string>();
  auto pending_days = std::make_shared<int>(0);
  auto* update = tenant->add_subcommand("update", "change a tenant's settings");
  update->add_option("--tenant", *tenant_ref, "tenant id or slug")->required();
  auto* pending = update->add_option(
      "--points-pending-days", *pending_days,
      "hold points earned by events as pending (not spendable) for N "
      "days after the event, in UTC: the returns window (0 to " +
          std::to_string(loyalty::tenants::kMaxPointsPendingDays) + "; 0: none)");
  add_json_flag(update, ctx);
  update->callback([&ctx, tenant_ref, pending_days, pending] {
    nlohmann::json change = nlohmann::json::object();
    if (pending->count() > 0) change["points_pending_days"] = *pending_days;
    if (change.empty()) {
      loyalty::throw_invalid("name a setting to change (--points-pending-days)");
    }
    auto t = loyalty::tenants::update_settings(ctx.database(), *tenant_ref, change,
                                               loyalty::Actor::operator_cli());
    ctx.json ? print_json(loyalty::tenants::to_json(t)) : print_tenant(t);
  });
}

namespace {
const CommandGroup kTenant(30, add_tenant_commands);
}  // namespace

}  // namespace loyaltyctl
