// loyaltyctl referrals: who referred whom, linking a customer to a referrer, and what completes
// a referral in a tenant.
#include "commands.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/core/money.hpp>
#include <loyalty/customers/privacy.hpp>
#include <loyalty/referrals/referrals.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <cstdio>
#include <sstream>

namespace loyaltyctl {

namespace {

namespace referrals = loyalty::referrals;

struct Options {
  std::string tenant, customer, code, event_types, min_amount;
  bool no_min_amount = false;
  int limit = 50;
};

void print_referral(const referrals::Referral& r) {
  std::printf("%s  %s  referrer %s  referee %s  %s%s%s\n", r.id.c_str(), r.created_at.c_str(),
              r.referrer_id.c_str(), r.referee_id.c_str(),
              r.completed_at.empty() ? "open" : "completed ", r.completed_at.c_str(),
              r.completing_event_id.empty() ? "" : (" by event " + r.completing_event_id).c_str());
}

void print_settings(const referrals::Settings& s) {
  std::string types;
  for (const auto& t : s.event_types) types += (types.empty() ? "" : ",") + t;
  std::printf("event types %s, minimum amount %s\n", types.c_str(),
              s.min_amount_minor ? loyalty::format_amount(*s.min_amount_minor).c_str() : "none");
}

void add_referral_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand(
      "referrals", "referrals: who referred whom, linking a referrer, what completes one");
  group->require_subcommand(1);
  auto o = std::make_shared<Options>();

  auto* list =
      group->add_subcommand("list", "a tenant's referrals (or a customer's), newest first");
  list->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  list->add_option("--customer", o->customer,
                   "only this customer's (id or phone): the one that brought them in first");
  list->add_option("--limit", o->limit, "how many at most")
      ->default_val(50)
      ->check(CLI::Range(1, 200));
  add_json_flag(list, ctx);
  list->callback([&ctx, o] {
    auto tid = loyalty::tenants::find_tenant(ctx.database(), o->tenant).id;
    std::string customer;
    if (!o->customer.empty())
      customer = loyalty::customers::resolve_customer(ctx.database(), tid, o->customer);
    auto page = referrals::list_referrals(ctx.database(), tid, customer,
                                          loyalty::PageRequest{o->limit, ""});
    if (ctx.json) {
      print_json(referrals::to_json(page));
      return;
    }
    if (page.items.empty()) std::printf("no referrals\n");
    for (const auto& r : page.items) print_referral(r);
  });

  auto* link = group->add_subcommand(
      "link", "link a customer with no events yet to the owner of a referral code");
  link->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  link->add_option("--customer", o->customer, "the referee's id or phone number")->required();
  link->add_option("--code", o->code, "the referrer's referral code")->required();
  add_json_flag(link, ctx);
  link->callback([&ctx, o] {
    auto tid = loyalty::tenants::find_tenant(ctx.database(), o->tenant).id;
    auto id = loyalty::customers::resolve_customer(ctx.database(), tid, o->customer);
    auto r = referrals::link_referrer(ctx.database(), tid, id, o->code, "api",
                                      loyalty::Actor::operator_cli());
    if (ctx.json) {
      print_json(referrals::to_json(r));
      return;
    }
    print_referral(r);
  });

  auto* settings = group->add_subcommand(
      "settings", "show, or set, which events complete a referral (default: a purchase)");
  settings->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  settings->add_option("--event-types", o->event_types,
                       "comma-separated event types that complete a referral");
  settings->add_option("--min-amount", o->min_amount,
                       "the least data.amount a completing event has, e.g. 10.00");
  settings->add_flag("--no-min-amount", o->no_min_amount, "any amount, or none, completes one");
  add_json_flag(settings, ctx);
  settings->callback([&ctx, o] {
    auto tid = loyalty::tenants::find_tenant(ctx.database(), o->tenant).id;
    auto s = referrals::get_settings(ctx.database(), tid);
    bool change = !o->event_types.empty() || !o->min_amount.empty() || o->no_min_amount;
    if (change) {
      if (!o->event_types.empty()) {
        s.event_types.clear();
        std::stringstream in(o->event_types);
        for (std::string t; std::getline(in, t, ',');) s.event_types.push_back(t);
      }
      if (o->no_min_amount) s.min_amount_minor.reset();
      if (!o->min_amount.empty()) s.min_amount_minor = loyalty::parse_amount(o->min_amount);
      s = referrals::set_settings(ctx.database(), tid, s);
    }
    if (ctx.json) {
      print_json(referrals::to_json(s));
      return;
    }
    print_settings(s);
  });
}

const CommandGroup kReferrals(37, add_referral_commands);

}  // namespace

}  // namespace loyaltyctl
