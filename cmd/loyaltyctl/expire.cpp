// loyaltyctl expire: the cron-driven expiry run (issuances past expires_at, expired points).
#include "commands.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/core/money.hpp>
#include <loyalty/issuances/issuances.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <cstdio>
#include <iostream>
#include <optional>

namespace loyaltyctl {

namespace {

nlohmann::json report_json(const loyalty::issuances::ExpiryReport& r) {
  return {{"issuances_expired", r.issuances_expired}, {"points_entries", r.points_entries},
          {"points_expired", r.points_expired},       {"rewards_warned", r.rewards_warned},
          {"points_warned", r.points_warned},         {"points_released", r.points_released}};
}

void print_row(const std::string& label, const loyalty::issuances::ExpiryReport& r) {
  std::printf("%-24s %10lld %15lld %14lld %15lld %14lld %15lld\n", label.c_str(),
              r.issuances_expired, r.points_entries, r.points_expired, r.rewards_warned,
              r.points_warned, r.points_released);
}

void add_expire_commands(CLI::App& app, Context& ctx) {
  auto tenant = std::make_shared<std::string>();
  auto dry_run = std::make_shared<bool>(false);
  auto warn_days = std::make_shared<int>(3);
  auto* expire = app.add_subcommand(
      "expire",
      "expire issuances past their expiry (budget released, reward.expired queued), release "
      "pending points whose returns window is over and debit expired points, then warn customers "
      "of what expires soon, for one tenant or every active "
      "tenant; idempotent, safe to run from cron while the daemon runs");
  expire->add_option("--tenant", *tenant, "tenant id or slug (default: every active tenant)");
  expire->add_flag("--dry-run", *dry_run, "count what is due, change nothing");
  expire
      ->add_option("--warn-days", *warn_days,
                   "queue an \"expires soon\" notice for each reward, and each customer's "
                   "points, expiring within N days, once (0: none)")
      ->default_val(3)
      ->check(CLI::Range(0, loyalty::issuances::kMaxWarnDays));
  add_json_flag(expire, ctx);
  expire->callback([&ctx, tenant, dry_run, warn_days] {
    auto& db = ctx.database();
    std::vector<loyalty::tenants::Tenant> tenants;
    if (!tenant->empty()) {
      tenants.push_back(loyalty::tenants::find_tenant(db, *tenant));
    } else {
      for (auto& t : loyalty::tenants::list_tenants(db)) {
        if (t.status == "active") tenants.push_back(std::move(t));
      }
    }

    // One tenant's failure does not stop the others; the run fails at the end.
    std::optional<loyalty::Error> first_error;
    loyalty::issuances::ExpiryReport total;
    total.dry_run = *dry_run;
    auto rows = nlohmann::json::array();
    std::vector<std::pair<std::string, loyalty::issuances::ExpiryReport>> reports;
    for (const auto& t : tenants) {
      try {
        auto r = loyalty::issuances::expire_due(db, t.id, *dry_run, *warn_days);
        total.issuances_expired += r.issuances_expired;
        total.rewards_warned += r.rewards_warned;
        total.points_warned += r.points_warned;
        total.points_entries += r.points_entries;
        total.points_expired = loyalty::checked_add(total.points_expired, r.points_expired);
        total.points_released = loyalty::checked_add(total.points_released, r.points_released);
        auto row = report_json(r);
        row["tenant_id"] = t.id;
        row["slug"] = t.slug;
        rows.push_back(row);
        reports.emplace_back(t.slug, r);
      } catch (const loyalty::Error& e) {
        std::cerr << "loyaltyctl: expire " << t.slug << ": " << e.what() << "\n";
        if (!first_error) first_error = e;
      }
    }

    if (ctx.json) {
      print_json({{"dry_run", *dry_run}, {"tenants", rows}, {"total", report_json(total)}});
    } else {
      if (*dry_run) std::cout << "dry run: nothing was changed; counts are what is due\n";
      std::printf("%-24s %10s %15s %14s %15s %14s %15s\n", "tenant", "issuances", "points_entries",
                  "points", "rewards_warned", "points_warned", "points_released");
      for (const auto& [slug, r] : reports) print_row(slug, r);
      print_row("total", total);
    }
    if (first_error) throw *first_error;
  });
}

const CommandGroup kExpire(60, add_expire_commands);

}  // namespace

}  // namespace loyaltyctl
