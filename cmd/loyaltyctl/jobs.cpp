// loyaltyctl jobs list|retry: the background job queue, across tenants.
#include "commands.hpp"

#include <loyalty/jobs/admin.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <iostream>
#include <optional>

namespace loyaltyctl {

namespace {

void add_jobs_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("jobs", "the background job queue: list jobs, retry dead ones");
  group->require_subcommand(1);

  struct Options {
    std::string status;
    std::string tenant;
    int limit = 100;
    long long id = 0;
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
}

const CommandGroup kJobs(62, add_jobs_commands);

}  // namespace

}  // namespace loyaltyctl
