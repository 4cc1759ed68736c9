// loyaltyctl webhook add|list|show|rotate-secret|disable|enable|remove|deliveries|replay|purge
#include "commands.hpp"

#include <loyalty/core/actor.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/tenants/tenants.hpp>
#include <loyalty/webhooks/deliveries.hpp>
#include <loyalty/webhooks/settings.hpp>
#include <loyalty/webhooks/subscriptions.hpp>

#include <charconv>
#include <iostream>

namespace loyaltyctl {

namespace {

namespace webhooks = loyalty::webhooks;
using nlohmann::json;

struct Options {
  std::string tenant, id, url, description, subscription, status, since, delivery;
  std::vector<std::string> events;
  int older_than = 0;
};

std::string tenant_id(Context& ctx, const std::string& ref) {
  return loyalty::tenants::find_tenant(ctx.database(), ref).id;
}

void print_subscription(const webhooks::Subscription& s) {
  std::cout << "id:          " << s.id << "\n"
            << "url:         " << s.url << "\n"
            << "events:      ";
  for (std::size_t i = 0; i < s.event_types.size(); ++i) {
    std::cout << (i ? "," : "") << s.event_types[i];
  }
  std::cout << "\n"
            << "status:      " << s.status;
  if (s.disabled_reason) std::cout << " (" << *s.disabled_reason << ")";
  std::cout << "\n";
  if (s.failing_since) {
    std::cout << "failing:     since " << *s.failing_since << ", " << s.consecutive_failures
              << " in a row\n";
  }
  if (s.paused_until) std::cout << "paused until " << *s.paused_until << "\n";
  if (!s.description.empty()) std::cout << "description: " << s.description << "\n";
}

void print_created(Context& ctx, const webhooks::CreatedSubscription& c) {
  if (ctx.json) {
    json out = webhooks::to_json(c.subscription);
    out["secret"] = c.secret;
    print_json(out);
    return;
  }
  print_subscription(c.subscription);
  std::cout << "secret:      " << c.secret << "  (shown once: give it to the receiver now)\n";
}

std::int64_t parse_delivery(const std::string& text) {
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) {
    loyalty::throw_invalid("DELIVERY must be a delivery id (a positive number), got '" + text +
                           "'");
  }
  return id;
}

void add_webhook_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("webhook", "webhook subscriptions of a tenant and deliveries");
  group->require_subcommand(1);
  auto o = std::make_shared<Options>();

  auto* add = group->add_subcommand("add", "subscribe a URL to event types");
  add->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  add->add_option("--url", o->url, "https URL of the receiver")->required();
  add->add_option("--events", o->events,
                  "event types, comma-separated, or '*' for all: customer.enrolled, "
                  "reward.issued, reward.redeemed, reward.cancelled, reward.expired, "
                  "budget.threshold")
      ->delimiter(',')
      ->required();
  add->add_option("--description", o->description, "what the receiver is");
  add_json_flag(add, ctx);
  add->callback([&ctx, o] {
    json fields = {{"url", o->url}, {"event_types", o->events}};
    if (!o->description.empty()) fields["description"] = o->description;
    auto created = webhooks::create_subscription(ctx.database(), tenant_id(ctx, o->tenant),
                                                 loyalty::Actor::operator_cli(), fields,
                                                 webhooks::address_policy(ctx.settings));
    print_created(ctx, created);
  });

  auto* list = group->add_subcommand("list", "list the tenant's subscriptions");
  list->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  add_json_flag(list, ctx);
  list->callback([&ctx, o] {
    auto tid = tenant_id(ctx, o->tenant);
    auto all = all_pages<webhooks::Subscription>([&](const loyalty::PageRequest& p) {
      return webhooks::list_subscriptions(ctx.database(), tid, p);
    });
    if (ctx.json) {
      json out = json::array();
      for (const auto& s : all) out.push_back(webhooks::to_json(s));
      print_json(out);
      return;
    }
    for (const auto& s : all) std::cout << s.id << "  " << s.status << "  " << s.url << "\n";
  });

  auto by_id = [&](const char* name, const char* help) {
    auto* sub = group->add_subcommand(name, help);
    sub->add_option("--tenant", o->tenant, "tenant id or slug")->required();
    sub->add_option("ID", o->id, "subscription id")->required();
    add_json_flag(sub, ctx);
    return sub;
  };
  by_id("show", "show a subscription")->callback([&ctx, o] {
    auto s = webhooks::get_subscription(ctx.database(), tenant_id(ctx, o->tenant), o->id);
    ctx.json ? print_json(webhooks::to_json(s)) : print_subscription(s);
  });
  by_id("rotate-secret", "a new secret; the old one keeps signing beside it for 24 hours")
      ->callback([&ctx, o] {
        auto c = webhooks::rotate_secret(ctx.database(), tenant_id(ctx, o->tenant),
                                         loyalty::Actor::operator_cli(), o->id);
        print_created(ctx, c);
      });
  for (bool enable : {false, true}) {
    by_id(enable ? "enable" : "disable",
          enable ? "send to the subscription again (its waiting deliveries are due now)"
                 : "stop sending to the subscription (deliveries wait)")
        ->callback([&ctx, o, enable] {
          auto s = webhooks::update_subscription(
              ctx.database(), tenant_id(ctx, o->tenant), loyalty::Actor::operator_cli(), o->id,
              {{"active", enable}}, webhooks::address_policy(ctx.settings));
          ctx.json ? print_json(webhooks::to_json(s)) : print_subscription(s);
        });
  }
  by_id("remove", "remove a subscription with its deliveries and attempts")->callback([&ctx, o] {
    webhooks::remove_subscription(ctx.database(), tenant_id(ctx, o->tenant),
                                  loyalty::Actor::operator_cli(), o->id);
    std::cout << "removed " << o->id << "\n";
  });

  auto* deliveries = group->add_subcommand("deliveries", "list deliveries, newest first");
  deliveries->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  deliveries->add_option("--subscription", o->subscription, "only this subscription's");
  deliveries->add_option("--status", o->status, "pending, delivered or failed");
  deliveries->add_option("--since", o->since, "created at or after (RFC 3339)");
  add_json_flag(deliveries, ctx);
  deliveries->callback([&ctx, o] {
    auto tid = tenant_id(ctx, o->tenant);
    webhooks::DeliveryFilter filter{o->subscription, o->status, o->since};
    auto all = all_pages<webhooks::Delivery>([&](const loyalty::PageRequest& p) {
      return webhooks::list_deliveries(ctx.database(), tid, filter, p);
    });
    if (ctx.json) {
      json out = json::array();
      for (const auto& d : all) out.push_back(webhooks::to_json(d));
      print_json(out);
      return;
    }
    for (const auto& d : all) {
      std::cout << d.id << "  " << d.status << "  " << d.event_type << "  " << d.message_id
                << "  attempts " << d.attempts;
      if (d.last_status_code) std::cout << "  last " << *d.last_status_code;
      if (d.last_error) std::cout << "  " << *d.last_error;
      std::cout << "\n";
    }
  });

  auto* replay = group->add_subcommand(
      "replay", "send deliveries again with their webhook-id: one, or a subscription's since");
  replay->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  replay->add_option("DELIVERY", o->delivery, "one delivery id");
  replay->add_option("--subscription", o->subscription, "every delivery of this subscription");
  replay->add_option("--since", o->since, "created at or after (RFC 3339), with --subscription");
  replay->add_option("--status", o->status, "only these (failed, delivered, pending)");
  add_json_flag(replay, ctx);
  replay->callback([&ctx, o] {
    auto tid = tenant_id(ctx, o->tenant);
    if (!o->delivery.empty()) {
      if (!o->subscription.empty() || !o->since.empty()) {
        loyalty::throw_invalid("give DELIVERY or --subscription with --since, not both");
      }
      auto d = webhooks::replay_delivery(ctx.database(), tid, parse_delivery(o->delivery));
      ctx.json ? print_json(webhooks::to_json(d))
               : void(std::cout << "replaying " << d.id << " (" << d.message_id << ")\n");
      return;
    }
    if (o->subscription.empty() || o->since.empty()) {
      loyalty::throw_invalid("give DELIVERY, or --subscription with --since");
    }
    auto n =
        webhooks::replay_deliveries(ctx.database(), tid, {o->subscription, o->status, o->since});
    ctx.json ? print_json({{"replayed", n}})
             : void(std::cout << "replaying " << n << " deliveries\n");
  });

  auto* purge = group->add_subcommand(
      "purge", "remove attempts, settled deliveries and sent messages older than DAYS (cron)");
  purge->add_option("--older-than", o->older_than, "days")->required();
  add_json_flag(purge, ctx);
  purge->callback([&ctx, o] {
    auto c = webhooks::purge(ctx.database(), o->older_than);
    if (ctx.json) {
      print_json(
          {{"attempts", c.attempts}, {"deliveries", c.deliveries}, {"messages", c.messages}});
      return;
    }
    std::cout << "removed " << c.attempts << " attempts, " << c.deliveries << " deliveries, "
              << c.messages << " messages\n";
  });
}

const CommandGroup kWebhook(46, add_webhook_commands);

}  // namespace

}  // namespace loyaltyctl
