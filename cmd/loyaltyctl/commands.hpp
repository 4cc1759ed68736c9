#pragma once
// Command groups of loyaltyctl. Each group file adds its subcommands to the app; handlers parse
// options, call one function of the core library, and print the result. Errors are thrown as
// loyalty::Error and turned into one stderr line and an exit code by main.cpp.

#include <CLI/CLI.hpp>
#include <loyalty/config/config.hpp>
#include <loyalty/core/page.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace loyalty {
namespace db {
class Database;
}
}  // namespace loyalty

namespace loyaltyctl {

/// Shared state of one loyaltyctl run: the global options and a lazily opened database.
class Context {
 public:
  loyalty::config::Settings settings;
  bool json = false;

  /// The database as the owner role, started (embedded) and migrated-check free on first use.
  loyalty::db::Database& database();

  ~Context();

 private:
  std::unique_ptr<loyalty::db::Database> database_;
};

/// Prints `value` as pretty JSON on stdout.
void print_json(const nlohmann::json& value);

/// Adds `--json` to a subcommand, bound to ctx.json.
void add_json_flag(CLI::App* sub, Context& ctx);

/// Every item of a paged list, fetching pages of 200 until the last.
template <typename T, typename Fetch>
std::vector<T> all_pages(Fetch fetch) {
  std::vector<T> all;
  loyalty::PageRequest page{200, ""};
  do {
    auto result = fetch(page);
    all.insert(all.end(), result.items.begin(), result.items.end());
    page.cursor = result.next_cursor;
  } while (!page.cursor.empty());
  return all;
}

/// A command group's registration: each group file defines one static CommandGroup, so adding
/// a group never touches main.cpp. `order` sets the order of groups in --help.
struct CommandGroup {
  using Add = void (*)(CLI::App& app, Context& ctx);
  CommandGroup(int order, Add add);
};

/// Every registered group, in order (main.cpp adds them all).
std::vector<std::pair<int, CommandGroup::Add>>& command_groups();

void add_db_commands(CLI::App& app, Context& ctx);
void add_migrate_commands(CLI::App& app, Context& ctx);
void add_tenant_commands(CLI::App& app, Context& ctx);
void add_rules_commands(CLI::App& app, Context& ctx);

/// The `rules` group, created on first use: a file that adds rules subcommands (import, export,
/// simulate) calls this instead of creating the group again.
CLI::App* rules_group(CLI::App& app);

}  // namespace loyaltyctl
