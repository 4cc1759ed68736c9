// loyaltyctl points history: a customer's points balance and movements, for the operator.
#include "commands.hpp"

#include <loyalty/customers/privacy.hpp>
#include <loyalty/points/points.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <cstdio>

namespace loyaltyctl {

namespace {

namespace points = loyalty::points;

struct Options {
  std::string tenant, customer, reason;
  int limit = 50;
  long long points = 0;
};

void add_points_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("points", "customers' points: history, adjustments");
  group->require_subcommand(1);
  auto o = std::make_shared<Options>();

  auto* history = group->add_subcommand(
      "history", "a customer's balance and newest movements with their reason and lot");
  history->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  history->add_option("--customer", o->customer, "the customer's id or phone number")->required();
  history->add_option("--limit", o->limit, "how many movements, newest first")
      ->default_val(50)
      ->check(CLI::Range(1, 200));
  add_json_flag(history, ctx);
  history->callback([&ctx, o] {
    auto tid = loyalty::tenants::find_tenant(ctx.database(), o->tenant).id;
    auto id = loyalty::customers::resolve_customer(ctx.database(), tid, o->customer);
    auto h = points::history(ctx.database(), tid, id, loyalty::PageRequest{o->limit, ""});
    if (ctx.json) {
      print_json(points::to_json(h));
      return;
    }
    std::printf("balance %lld (spendable %lld)\n", static_cast<long long>(h.balance),
                static_cast<long long>(h.spendable));
    for (const auto& m : h.movements.items) {
      std::printf("%s  %-10s %+8lld  lot %lld%s%s  %s  %s\n", m.created_at.c_str(), m.kind.c_str(),
                  static_cast<long long>(m.points), static_cast<long long>(m.lot_id),
                  m.lot_expires_at.empty() ? "" : " expires ", m.lot_expires_at.c_str(),
                  m.actor.c_str(), m.reason.c_str());
    }
  });

  auto* adjust = group->add_subcommand(
      "adjust", "add points to a customer (a lot that never expires) or take some away");
  adjust->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  adjust->add_option("--customer", o->customer, "the customer's id or phone number")->required();
  adjust->add_option("--points", o->points, "points to add (N) or take away (-N)")->required();
  adjust->add_option("--reason", o->reason, "why, kept with the movement")->required();
  add_json_flag(adjust, ctx);
  adjust->callback([&ctx, o] {
    auto tid = loyalty::tenants::find_tenant(ctx.database(), o->tenant).id;
    auto id = loyalty::customers::resolve_customer(ctx.database(), tid, o->customer);
    auto done = points::adjust(ctx.database(), tid, id, o->points, o->reason,
                               loyalty::Actor::operator_cli());
    if (ctx.json) {
      print_json(points::to_json(done));
      return;
    }
    std::printf("adjusted %+lld points: balance %lld\n", static_cast<long long>(done.points),
                static_cast<long long>(done.balance));
  });
}

const CommandGroup kPoints(36, add_points_commands);

}  // namespace

}  // namespace loyaltyctl
