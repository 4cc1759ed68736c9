// loyaltyctl jobs list|retry|purge: the background job queue, across tenants.
#include "commands.hpp"

#include <loyalty/jobs/admin.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <iostream>
#include <optional>

namespace loyaltyctl {

namespace {

void add_jobs_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand(
      "jobs", "the background job queue: list jobs, retry dead ones, purge old done ones");
  group->require_subcommand(1);

  struct Options {
    std::string status;
    std::string tenant;
    int limit = 100;
    long long id = 0;
    int older_than = 30;
    bool dry_run = false;
  };
  auto o = std::make_shared<Options>();
  auto tenant_id = [&ctx](const std::string& ref) {
    return ref.empty() ? std::string() : loyalty::tenants::find_tenant(ctx.database(), ref).id;
  };

  auto* list = group->add_subcommand("list", "list jobs, newest first");
  list->add_option("--status", o->status, "pending, running, done or dead (default: all)");
  list->add_option("--tenant", o->tenant, "only this tenant (id or slug)");
  list->add_option("--limit", o->limit, "at most this many")->capture_default_str();
  add_json_flag(list, ctx);
  list->callback([&ctx, o, tenant_id] {
    loyalty::jobs::JobFilter filter{o->status, tenant_id(o->tenant), o->limit};
    auto jobs = loyalty::jobs::list_jobs(ctx.database(), filter);
    if (ctx.json) {
      auto out = nlohmann::json::array();
      for (const auto& j : jobs) out.push_back(loyalty::jobs::to_json(j));
      print_json(out);
      return;
    }
    for (const auto& j : jobs) {
      std::cout << j.id << "  " << j.status << "  " << j.kind << "  " << j.tenant_id << "  "
                << j.attempts << "/" << j.max_attempts << "  " << j.run_at;
      if (!j.last_error.empty()) std::cout << "  " << j.last_error;
      std::cout << "\n";
    }
  });

  auto* retry = group->add_subcommand(
      "retry", "put dead jobs back in the queue (attempts reset): one by id, or every dead job");
  auto* id_opt = retry->add_option("id", o->id, "the job's id (default: every dead job)");
  retry->add_option("--tenant", o->tenant, "only this tenant's dead jobs (id or slug)");
  add_json_flag(retry, ctx);
  retry->callback([&ctx, o, id_opt, tenant_id] {
    std::optional<long long> id;
    if (id_opt->count() > 0) id = o->id;
    int n = loyalty::jobs::retry_dead(ctx.database(), id, tenant_id(o->tenant));
    if (ctx.json) {
      print_json({{"retried", n}});
    } else {
      std::cout << "retried " << n << " dead job" << (n == 1 ? "" : "s") << "\n";
    }
  });

  auto* purge = group->add_subcommand(
      "purge", "delete jobs done more than --older-than days ago (from cron; dead jobs stay)");
  purge->add_option("--older-than", o->older_than, "age in days of the done jobs to delete")
      ->capture_default_str();
  purge->add_option("--tenant", o->tenant, "only this tenant's jobs (id or slug)");
  purge->add_flag("--dry-run", o->dry_run, "count them and delete nothing");
  add_json_flag(purge, ctx);
  purge->callback([&ctx, o, tenant_id] {
    auto n =
        loyalty::jobs::purge_done(ctx.database(), o->older_than, tenant_id(o->tenant), o->dry_run);
    if (ctx.json) {
      print_json({{o->dry_run ? "would_purge" : "purged", n}, {"older_than_days", o->older_than}});
    } else {
      std::cout << (o->dry_run ? "would purge " : "purged ") << n << " done job"
                << (n == 1 ? "" : "s") << " older than " << o->older_than << " day"
                << (o->older_than == 1 ? "" : "s") << "\n";
    }
  });
}

const CommandGroup kJobs(62, add_jobs_commands);

}  // namespace

}  // namespace loyaltyctl
