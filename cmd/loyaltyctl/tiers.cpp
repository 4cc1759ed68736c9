// loyaltyctl tiers: a tenant's tier ladder (set, list), the nightly recompute that also
// downgrades, and a customer's tier history.
#include "commands.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/customers/privacy.hpp>
#include <loyalty/tenants/tenants.hpp>
#include <loyalty/tiers/tiers.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace loyaltyctl {

namespace {

namespace tiers = loyalty::tiers;

struct Options {
  std::string tenant, customer, file;
  bool all = false;
};

void print_ladder(const tiers::Ladder& l) {
  if (!l.defined) {
    std::printf("no tiers\n");
    return;
  }
  std::printf("measure %s, window %s", l.measure.c_str(),
              l.window == "rolling"
                  ? ("rolling " + std::to_string(*l.window_days) + " days").c_str()
                  : "calendar year");
  std::printf(", grace %d days\n", l.grace_days);
  for (const auto& t : l.tiers) {
    std::printf("%2d  %-20s from %lld  x%d.%04d\n", t.rank, t.name.c_str(),
                static_cast<long long>(t.threshold), t.multiplier_bp / 10000,
                t.multiplier_bp % 10000);
  }
}

void add_tiers_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand(
      "tiers", "customer tiers: the ladder, the nightly recompute, a customer's history");
  group->require_subcommand(1);
  auto o = std::make_shared<Options>();

  auto* set = group->add_subcommand(
      "set", "replace the tenant's tier policy and whole ladder from a JSON file");
  set->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  set->add_option("file", o->file,
                  "JSON: {measure, window, window_days, grace_days, tiers: [{name, threshold, "
                  "multiplier_bp}]}, lowest tier first; tiers [] removes them")
      ->required();
  add_json_flag(set, ctx);
  set->callback([&ctx, o] {
    std::ifstream in(o->file, std::ios::binary);
    if (!in) loyalty::throw_invalid("cannot read " + o->file);
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json body = nlohmann::json::parse(text.str(), nullptr, false);
    if (body.is_discarded()) loyalty::throw_invalid(o->file + " is not valid JSON");
    auto tid = loyalty::tenants::find_tenant(ctx.database(), o->tenant).id;
    auto ladder = tiers::set_ladder(ctx.database(), tid, body, loyalty::Actor::operator_cli());
    if (ctx.json) {
      print_json(tiers::to_json(ladder));
      return;
    }
    print_ladder(ladder);
  });

  auto* list = group->add_subcommand("list", "the tenant's tier policy and ladder");
  list->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  add_json_flag(list, ctx);
  list->callback([&ctx, o] {
    auto tid = loyalty::tenants::find_tenant(ctx.database(), o->tenant).id;
    auto ladder = tiers::ladder(ctx.database(), tid);
    if (ctx.json) {
      print_json(tiers::to_json(ladder));
      return;
    }
    print_ladder(ladder);
  });

  auto* recompute = group->add_subcommand(
      "recompute",
      "evaluate every customer's tier now: upgrades, and downgrades after the grace period "
      "(from cron, nightly)");
  auto* tenant_opt = recompute->add_option("--tenant", o->tenant, "tenant id or slug");
  auto* all_opt = recompute->add_flag("--all", o->all, "every tenant that has tiers");
  tenant_opt->excludes(all_opt);
  add_json_flag(recompute, ctx);
  recompute->callback([&ctx, o] {
    if (o->tenant.empty() && !o->all) {
      loyalty::throw_invalid("name a tenant (--tenant T) or --all");
    }
    std::vector<std::string> ids;
    if (o->all) {
      ids = tiers::tenants_with_tiers(ctx.database());
    } else {
      ids.push_back(loyalty::tenants::find_tenant(ctx.database(), o->tenant).id);
    }
    auto out = nlohmann::json::array();
    for (const auto& id : ids) {
      auto report = tiers::recompute(ctx.database(), id);
      if (ctx.json) {
        auto j = tiers::to_json(report);
        j["tenant_id"] = id;
        out.push_back(j);
      } else {
        std::printf("tenant %s: %lld customers, %lld upgraded, %lld downgraded\n", id.c_str(),
                    static_cast<long long>(report.customers),
                    static_cast<long long>(report.upgraded),
                    static_cast<long long>(report.downgraded));
      }
    }
    if (ctx.json) print_json(out);
  });

  auto* history = group->add_subcommand(
      "history", "a customer's tier, measure and every move between tiers, newest first");
  history->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  history->add_option("--customer", o->customer, "the customer's id or phone number")->required();
  add_json_flag(history, ctx);
  history->callback([&ctx, o] {
    auto tid = loyalty::tenants::find_tenant(ctx.database(), o->tenant).id;
    auto id = loyalty::customers::resolve_customer(ctx.database(), tid, o->customer);
    auto t = tiers::customer_tiers(ctx.database(), tid, id);
    if (ctx.json) {
      print_json(tiers::to_json(t));
      return;
    }
    std::printf("tier %s%s%s, measure %lld\n", t.tier ? t.tier->c_str() : "none",
                t.since.empty() ? "" : " since ", t.since.c_str(),
                static_cast<long long>(t.measure));
    for (const auto& c : t.changes) {
      std::printf("%s  %-9s %s -> %s  measure %lld\n", c.changed_at.c_str(), c.reason.c_str(),
                  c.from ? c.from->c_str() : "none", c.to ? c.to->c_str() : "none",
                  static_cast<long long>(c.measure));
    }
  });
}

const CommandGroup kTiers(37, add_tiers_commands);

}  // namespace

}  // namespace loyaltyctl
