// loyaltyctl budget create|topup|show|list
#include "commands.hpp"

#include <loyalty/budgets/budgets.hpp>
#include <loyalty/core/actor.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <iostream>

namespace loyaltyctl {

namespace {

namespace budgets = loyalty::budgets;
using loyalty::format_amount;
using nlohmann::json;

std::string tenant_id(Context& ctx, const std::string& ref) {
  return loyalty::tenants::find_tenant(ctx.database(), ref).id;
}

void print_budget(const budgets::Budget& b) {
  std::cout << "id:         " << b.id << "\n"
            << "name:       " << b.name << "\n"
            << "total:      " << format_amount(b.total) << " " << b.currency << "\n"
            << "reserved:   " << format_amount(b.reserved) << "\n"
            << "utilized:   " << format_amount(b.utilized) << "\n"
            << "spent:      " << format_amount(b.spent) << "\n"
            << "available:  " << format_amount(b.available()) << "\n"
            << "hard cap:   " << (b.hard_cap ? "yes" : "no") << "\n"
            << "soft cap:   " << (b.soft_cap_threshold ? *b.soft_cap_threshold : "none") << "\n"
            << "period:     " << b.period;
  if (b.period_start) std::cout << " (since " << *b.period_start << ")";
  std::cout << "\n";
}

struct Options {
  std::string tenant, name, currency, total = "0", period = "none", threshold, budget, amount,
                                      reference;
  bool hard_cap = true;
};

void add_budget_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("budget", "reward budgets: create, top up, show");
  group->require_subcommand(1);
  auto o = std::make_shared<Options>();

  auto* create = group->add_subcommand("create", "create a budget");
  create->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  create->add_option("--name", o->name, "unique name in the tenant")->required();
  create->add_option("--currency", o->currency, "USD or ZWG")->required();
  create->add_option("--total", o->total, "initial total, e.g. 500.00 (recorded as a top-up)")
      ->capture_default_str();
  create->add_flag("--hard-cap,!--no-hard-cap", o->hard_cap,
                   "never let reservations exceed the total (the default; --no-hard-cap lets "
                   "them)");
  create
      ->add_option("--period", o->period,
                   "none, daily, weekly or monthly: counters start fresh each period in the "
                   "tenant's time zone")
      ->capture_default_str();
  create->add_option("--soft-cap-threshold", o->threshold,
                     "fraction of the total (e.g. 0.8) whose crossing sends budget.threshold once "
                     "per period");
  add_json_flag(create, ctx);
  create->callback([&ctx, o] {
    json fields = {{"name", o->name},
                   {"currency", o->currency},
                   {"total", o->total},
                   {"hard_cap", o->hard_cap},
                   {"period", o->period}};
    if (!o->threshold.empty()) fields["soft_cap_threshold"] = o->threshold;
    auto b = budgets::create_budget(ctx.database(), tenant_id(ctx, o->tenant),
                                    loyalty::Actor::operator_cli(), fields);
    ctx.json ? print_json(budgets::to_json(b)) : print_budget(b);
  });

  auto* topup = group->add_subcommand(
      "topup", "add to a budget's total; repeating a reference with the same amount is a no-op");
  topup->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  topup->add_option("--budget", o->budget, "budget id or name")->required();
  topup->add_option("--amount", o->amount, "amount to add, e.g. 250.00")->required();
  topup
      ->add_option("--reference", o->reference,
                   "your reference (invoice, transfer) for this top-up")
      ->required();
  add_json_flag(topup, ctx);
  topup->callback([&ctx, o] {
    auto r =
        budgets::topup_budget(ctx.database(), tenant_id(ctx, o->tenant),
                              loyalty::Actor::operator_cli(), o->budget, o->amount, o->reference);
    if (ctx.json) {
      print_json({{"budget", budgets::to_json(r.budget)},
                  {"movement_id", r.movement_id},
                  {"amount", format_amount(r.amount)},
                  {"reference", o->reference},
                  {"replayed", r.replayed}});
      return;
    }
    std::cout << (r.replayed ? "already applied: " : "topped up: ") << format_amount(r.amount)
              << " " << r.budget.currency << " (movement " << r.movement_id << ")\n";
    print_budget(r.budget);
  });

  auto* show = group->add_subcommand("show", "show a budget's counters");
  show->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  show->add_option("budget,--budget", o->budget, "budget id or name")->required();
  add_json_flag(show, ctx);
  show->callback([&ctx, o] {
    auto b = budgets::get_budget(ctx.database(), tenant_id(ctx, o->tenant), o->budget);
    ctx.json ? print_json(budgets::to_json(b)) : print_budget(b);
  });

  auto* list = group->add_subcommand("list", "list a tenant's budgets");
  list->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  add_json_flag(list, ctx);
  list->callback([&ctx, o] {
    auto tid = tenant_id(ctx, o->tenant);
    auto all = json::array();
    loyalty::PageRequest page{200, ""};
    do {
      auto result = budgets::list_budgets(ctx.database(), tid, page);
      for (const auto& b : result.items) {
        if (ctx.json) {
          all.push_back(budgets::to_json(b));
        } else {
          std::cout << b.id << "  " << format_amount(b.available()) << " of "
                    << format_amount(b.total) << " " << b.currency << " available  " << b.period
                    << "  " << b.name << "\n";
        }
      }
      page.cursor = result.next_cursor;
    } while (!page.cursor.empty());
    if (ctx.json) print_json(all);
  });
}

const CommandGroup kBudget(42, add_budget_commands);

}  // namespace

}  // namespace loyaltyctl
