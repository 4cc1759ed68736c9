// loyaltyctl notices list: what became of a tenant's WhatsApp notices and replies — the failed
// ones with Meta's code and the reason — for the operator.
#include "commands.hpp"

#include <loyalty/notices/history.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <cstdio>
#include <iostream>

namespace loyaltyctl {

namespace {

namespace notices = loyalty::notices;

struct Options {
  std::string tenant, status, kind, customer;
  int limit = 50;
};

void add_notice_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("notices", "a tenant's WhatsApp notices and replies");
  group->require_subcommand(1);
  auto o = std::make_shared<Options>();
  auto* list = group->add_subcommand(
      "list", "the newest notices and replies with their status, attempts and errors");
  list->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  list->add_option("--status", o->status, "queued, sent, delivered, read, failed or cancelled");
  list->add_option("--kind", o->kind,
                   "reward_issued, reward_redeemed, reward_expiring, points_expiring or reply");
  list->add_option("--customer", o->customer, "only this customer's (id)");
  list->add_option("--limit", o->limit, "how many, newest first")
      ->default_val(50)
      ->check(CLI::Range(1, 200));
  add_json_flag(list, ctx);
  list->callback([&ctx, o] {
    auto tid = loyalty::tenants::find_tenant(ctx.database(), o->tenant).id;
    auto page = notices::list_notifications(ctx.database(), tid, {o->status, o->kind, o->customer},
                                            loyalty::PageRequest{o->limit, ""});
    if (ctx.json) {
      auto out = nlohmann::json::array();
      for (const auto& n : page.items) out.push_back(notices::to_json(n));
      print_json(out);
      return;
    }
    for (const auto& n : page.items) {
      std::printf("%s  %-15s %-9s attempts %d", n.created_at.c_str(), n.kind.c_str(),
                  n.status.c_str(), n.attempts);
      if (!n.sent_as.empty()) std::printf("  as %s", n.sent_as.c_str());
      if (n.error_code) std::printf("  code %lld", *n.error_code);
      if (!n.last_error.empty()) std::printf("  %s", n.last_error.c_str());
      std::printf("  %s\n", n.id.c_str());
    }
  });
}

const CommandGroup kNotices(48, add_notice_commands);

}  // namespace

}  // namespace loyaltyctl
