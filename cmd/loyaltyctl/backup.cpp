// loyaltyctl backup create|verify|restore|prune
#include "commands.hpp"

#include <loyalty/backup/backup.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/db/database.hpp>

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace loyaltyctl {

namespace {

namespace backup = loyalty::backup;
using nlohmann::json;

struct Options {
  std::string dir, recipient, file, identity;
  bool latest = false, force = false, yes = false, dry_run = false;
  int keep_daily = 0, keep_monthly = 0;
};

std::string owner_url(Context& ctx) {
  return loyalty::db::resolve_url(ctx.settings, loyalty::db::Role::owner, true);
}

std::string or_setting(const std::string& given, const std::string& setting) {
  return given.empty() ? setting : given;
}

json to_json(const backup::CheckReport& r) {
  return {{"file", r.file},
          {"created_at", r.created_at},
          {"schema_version", r.schema_version},
          {"size", r.size},
          {"tables", r.tables},
          {"rows", r.rows},
          {"ledger", {{"budgets", r.budgets}, {"movements", r.movements}}},
          {"forced_rls_tables", r.forced_rls_tables},
          {"policies", r.policies},
          {"grants", r.grants},
          {"seconds", r.restore_seconds}};
}

std::string summary(const backup::CheckReport& r) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.1f", r.restore_seconds);
  return std::to_string(r.tables) + " tables, " + std::to_string(r.rows) +
         " rows; ledger verify ok (" + std::to_string(r.budgets) + " budgets, " +
         std::to_string(r.movements) + " movements); row-level security forced on " +
         std::to_string(r.forced_rls_tables) + " tables, " + std::to_string(r.policies) +
         " policies, " + std::to_string(r.grants) + " grants; schema " + r.schema_version + "; " +
         seconds + " s";
}

/// Asks on the terminal before a restore replaces a database that holds data.
void confirm_replace(const backup::RestoreTarget& target, const std::string& file, bool yes) {
  if (yes) return;
  if (!isatty(STDIN_FILENO)) {
    loyalty::throw_invalid("refusing to replace the database " + target.database +
                           " without a terminal to confirm on: pass --yes");
  }
  std::cerr << "This replaces everything in the database " << target.database;
  if (target.tenants >= 0) std::cerr << " (" << target.tenants << " tenants)";
  std::cerr << " with the backup " << file
            << ".\nType the database name to confirm: " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  if (answer != target.database) {
    loyalty::throw_invalid("not confirmed: nothing was changed");
  }
}

void add_backup_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand(
      "backup", "encrypted backups: create, verify by restoring, restore, prune");
  group->require_subcommand(1);
  auto o = std::make_shared<Options>();

  auto* create = group->add_subcommand(
      "create", "pg_dump the database as loyalty_backup, encrypted with age, with a manifest");
  create->add_option("--dir", o->dir, "directory to write to [setting backup-dir]");
  create->add_option("--recipient", o->recipient,
                     "age public key to encrypt to [setting backup-recipient]");
  add_json_flag(create, ctx);
  create->callback([&ctx, o] {
    auto result = backup::create_backup(owner_url(ctx),
                                        {or_setting(o->dir, ctx.settings.backup_dir),
                                         or_setting(o->recipient, ctx.settings.backup_recipient)});
    if (ctx.json) {
      print_json({{"path", result.path},
                  {"manifest_path", result.manifest_path},
                  {"manifest", result.manifest}});
    } else {
      std::cout << result.path << "\n";
    }
  });

  auto* verify = group->add_subcommand(
      "verify",
      "restore a backup into a scratch database and check it (counts, ledger, row-level "
      "security, policies, grants); exits 4 naming what failed");
  verify->add_option("FILE", o->file, "the backup file");
  verify->add_flag("--latest", o->latest, "the newest backup in --dir instead of FILE");
  verify->add_option("--dir", o->dir, "directory for --latest [setting backup-dir]");
  verify->add_option("--identity", o->identity,
                     "age identity file that decrypts it [setting backup-identity]");
  add_json_flag(verify, ctx);
  verify->callback([&ctx, o] {
    if (o->latest == !o->file.empty()) loyalty::throw_invalid("give FILE or --latest (one)");
    std::string file =
        o->latest ? backup::latest_backup(or_setting(o->dir, ctx.settings.backup_dir)) : o->file;
    auto report = backup::verify_backup(
        owner_url(ctx), {file, or_setting(o->identity, ctx.settings.backup_identity)});
    if (ctx.json) {
      print_json(to_json(report));
    } else {
      std::cout << "backup ok: " << report.file << ": " << summary(report) << "\n";
    }
  });

  auto* restore = group->add_subcommand(
      "restore", "restore a backup into an empty database, or over one with --force");
  restore->add_option("FILE", o->file, "the backup file")->required();
  restore->add_option("--identity", o->identity,
                      "age identity file that decrypts it [setting backup-identity]");
  restore->add_flag("--force", o->force,
                    "replace a database that is not empty (asks first; checked before swapped in)");
  restore->add_flag("--yes", o->yes, "with --force: do not ask (for scripts)");
  add_json_flag(restore, ctx);
  restore->callback([&ctx, o] {
    std::string url = owner_url(ctx);
    if (o->force) {
      auto target = backup::describe_target(url);
      if (!target.empty) confirm_replace(target, o->file, o->yes);
    }
    auto result = backup::restore_backup(
        url, {o->file, or_setting(o->identity, ctx.settings.backup_identity), o->force});
    if (ctx.json) {
      json out = to_json(result.checks);
      out["database"] = result.database;
      out["replaced"] = result.replaced;
      out["needs_migrate"] = result.behind_binary;
      print_json(out);
      return;
    }
    std::cout << "restored " << result.checks.file << " into " << result.database
              << (result.replaced ? " (its previous contents replaced)" : "") << ": "
              << summary(result.checks) << "\n";
    if (result.behind_binary) {
      std::cout << "the backup's schema is " << result.checks.schema_version
                << ": run `loyaltyctl migrate` before starting loyaltyd\n";
    }
  });

  auto* prune = group->add_subcommand(
      "prune", "delete backups (and manifests) beyond the newest per day and per month");
  prune->add_option("--dir", o->dir, "backup directory [setting backup-dir]");
  prune->add_option("--keep-daily", o->keep_daily,
                    "keep the newest backup of each of the last N days that have one");
  prune->add_option("--keep-monthly", o->keep_monthly,
                    "keep the newest backup of each of the last M months that have one");
  prune->add_flag("--dry-run", o->dry_run, "print what would be removed, remove nothing");
  add_json_flag(prune, ctx);
  prune->callback([&ctx, o] {
    auto report = backup::prune_backups(
        {or_setting(o->dir, ctx.settings.backup_dir), o->keep_daily, o->keep_monthly, o->dry_run});
    if (ctx.json) {
      print_json({{"removed", report.removed}, {"kept", report.kept}, {"dry_run", o->dry_run}});
      return;
    }
    for (const auto& name : report.removed) {
      std::cout << (o->dry_run ? "would remove " : "removed ") << name << "\n";
    }
    std::cout << "kept " << report.kept.size() << " backups\n";
  });
}

const CommandGroup kBackup(48, add_backup_commands);

}  // namespace

}  // namespace loyaltyctl
