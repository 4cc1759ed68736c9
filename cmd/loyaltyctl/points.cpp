// loyaltyctl points history: a customer's points balance and movements, for the operator.
#include "commands.hpp"

#include <loyalty/customers/privacy.hpp>
#include <loyalty/points/points.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <loyalty/core/error.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace loyaltyctl {

namespace {

namespace points = loyalty::points;

struct Options {
  std::string tenant, customer, reason, file;
  bool dry_run = false;
  int limit = 50;
  long long points = 0;
};

void add_points_commands(CLI::App& app, Context& ctx) {
  auto* group =
      app.add_subcommand("points", "customers' points: history, adjustments, bulk grants");
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
    // Pending points (the tenant's returns window): the total, then each lot and when it comes
    // due (UTC).
    if (h.pending > 0) std::printf("pending %lld\n", static_cast<long long>(h.pending));
    for (const auto& l : h.pending_lots) {
      std::printf("  lot %lld: %lld pending until %s\n", static_cast<long long>(l.lot_id),
                  static_cast<long long>(l.points), l.until.c_str());
    }
    for (const auto& m : h.movements.items) {
      std::string pending;
      if (m.pending != 0) {
        pending = std::string(" (pending ") + (m.pending > 0 ? "+" : "") +
                  std::to_string(m.pending) + ")";
      }
      std::printf("%s  %-10s %+8lld%s  lot %lld%s%s  %s  %s\n", m.created_at.c_str(),
                  m.kind.c_str(), static_cast<long long>(m.points), pending.c_str(),
                  static_cast<long long>(m.lot_id), m.lot_expires_at.empty() ? "" : " expires ",
                  m.lot_expires_at.c_str(), m.actor.c_str(), m.reason.c_str());
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

  auto* grant = group->add_subcommand(
      "grant", "grant points in bulk from a CSV file: all or nothing, idempotent by reference");
  grant->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  grant->add_option("file", o->file, "CSV: customer (phone or id), points, reason, reference")
      ->required();
  grant->add_flag("--dry-run", o->dry_run, "report what would be granted, change nothing");
  add_json_flag(grant, ctx);
  grant->callback([&ctx, o] {
    std::ifstream in(o->file, std::ios::binary);
    if (!in) loyalty::throw_invalid("cannot read " + o->file);
    std::stringstream text;
    text << in.rdbuf();
    auto tid = loyalty::tenants::find_tenant(ctx.database(), o->tenant).id;
    auto report =
        points::grant(ctx.database(), tid, text.str(), o->dry_run, loyalty::Actor::operator_cli());
    if (ctx.json) {
      print_json(points::to_json(report));
    } else {
      for (const auto& a : report.applied) {
        std::printf("line %lld: %s %lld points to %s (%s)\n", static_cast<long long>(a.line),
                    report.dry_run ? "would grant" : "granted", static_cast<long long>(a.points),
                    a.customer_id.c_str(), a.reference.c_str());
      }
      for (auto line : report.already) {
        std::printf("line %lld: already granted (same reference), skipped\n",
                    static_cast<long long>(line));
      }
      for (const auto& r : report.refused) {
        std::printf("line %lld: refused: %s\n", static_cast<long long>(r.line), r.reason.c_str());
      }
      std::printf("%lld lines: %zu %s (%lld points), %zu already granted, %zu refused\n",
                  static_cast<long long>(report.lines), report.applied.size(),
                  report.dry_run ? "to grant" : "granted", static_cast<long long>(report.points),
                  report.already.size(), report.refused.size());
    }
    if (!report.refused.empty()) {
      throw loyalty::Error(
          loyalty::ErrorCode::invalid, "grant-refused",
          std::to_string(report.refused.size()) + " line(s) refused: nothing was granted");
    }
  });
}

const CommandGroup kPoints(36, add_points_commands);

}  // namespace

}  // namespace loyaltyctl
