// loyaltyctl db start|stop|status|url, and migrate.
#include "commands.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/db/database.hpp>
#include <loyalty/db/migrations.hpp>

#include <iostream>

namespace loyaltyctl {

namespace {

loyalty::db::EmbeddedCluster embedded_cluster(const Context& ctx) {
  if (!ctx.settings.database_url.empty()) {
    throw loyalty::Error(loyalty::ErrorCode::invalid, "external-database",
                         "a database URL is configured: the embedded cluster is not in use");
  }
  return loyalty::db::EmbeddedCluster(ctx.settings.data_dir);
}

nlohmann::json status_json(const loyalty::db::ClusterStatus& s) {
  return {{"initialized", s.initialized},
          {"running", s.running},
          {"pgdata", s.pgdata},
          {"socket_dir", s.socket_dir}};
}

}  // namespace

void add_db_commands(CLI::App& app, Context& ctx) {
  auto* db = app.add_subcommand("db", "the embedded PostgreSQL cluster under the data dir");
  db->require_subcommand(1);

  auto* start = db->add_subcommand("start", "create the cluster on first use and start it");
  start->callback([&ctx] {
    auto cluster = embedded_cluster(ctx);
    cluster.ensure_started();
    std::cout << "database running (socket in " << cluster.status().socket_dir << ")\n";
  });

  auto* stop = db->add_subcommand("stop", "stop the cluster");
  stop->callback([&ctx] {
    embedded_cluster(ctx).stop();
    std::cout << "database stopped\n";
  });

  auto* status = db->add_subcommand("status", "whether the cluster exists and runs");
  add_json_flag(status, ctx);
  status->callback([&ctx] {
    auto s = embedded_cluster(ctx).status();
    if (ctx.json) {
      print_json(status_json(s));
    } else {
      std::cout << (s.running       ? "running"
                    : s.initialized ? "stopped"
                                    : "not initialized")
                << " (" << s.pgdata << ")\n";
    }
    if (!s.running) throw loyalty::Error(loyalty::ErrorCode::unavailable, "stopped", "not running");
  });

  auto* url = db->add_subcommand("url", "print the libpq URL of a role (starts the cluster)");
  auto* role = url->add_option("--role", "owner (migrations, operator) or app (loyaltyd)")
                   ->check(CLI::IsMember({"owner", "app"}))
                   ->default_val("owner");
  url->callback([&ctx, role] {
    auto r = role->as<std::string>() == "app" ? loyalty::db::Role::app : loyalty::db::Role::owner;
    std::cout << loyalty::db::resolve_url(ctx.settings, r, true) << "\n";
  });
}

void add_migrate_commands(CLI::App& app, Context& ctx) {
  auto* migrate = app.add_subcommand("migrate", "apply pending schema migrations");
  auto* status_flag =
      migrate->add_flag("--status")->description("list migrations and whether each is applied");
  add_json_flag(migrate, ctx);
  migrate->callback([&ctx, status_flag] {
    auto& db = ctx.database();
    if (status_flag->count() > 0) {
      auto statuses = loyalty::db::migration_status(db);
      if (ctx.json) {
        auto out = nlohmann::json::array();
        for (const auto& s : statuses) {
          out.push_back({{"name", s.name}, {"applied", s.applied}, {"applied_at", s.applied_at}});
        }
        print_json(out);
      } else {
        for (const auto& s : statuses) {
          std::cout << (s.applied ? "applied  " : "pending  ") << s.name
                    << (s.applied ? "  " + s.applied_at : "") << "\n";
        }
      }
      return;
    }
    auto applied = loyalty::db::migrate(db);
    if (ctx.json) {
      print_json({{"applied", applied}});
    } else if (applied.empty()) {
      std::cout << "schema is up to date\n";
    } else {
      for (const auto& name : applied) std::cout << "applied " << name << "\n";
    }
  });
}

namespace {
const CommandGroup kDb(10, add_db_commands);
const CommandGroup kMigrate(20, add_migrate_commands);
}  // namespace

}  // namespace loyaltyctl
