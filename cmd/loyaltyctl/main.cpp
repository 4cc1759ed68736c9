// loyaltyctl: the operator's command line over the core library.
#include "commands.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/db/database.hpp>
#include <loyalty/db/migrations.hpp>
#include <loyalty/log/log.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace loyaltyctl {

loyalty::db::Database& Context::database() {
  if (!database_) database_ = loyalty::db::Database::open_owner(settings);
  return *database_;
}

Context::~Context() = default;

void print_json(const nlohmann::json& value) { std::cout << value.dump(2) << "\n"; }

std::vector<std::pair<int, CommandGroup::Add>>& command_groups() {
  static std::vector<std::pair<int, CommandGroup::Add>> groups;
  return groups;
}

CommandGroup::CommandGroup(int order, Add add) { command_groups().emplace_back(order, add); }

void add_json_flag(CLI::App* sub, Context& ctx) {
  sub->add_flag("--json", ctx.json, "print the result as JSON");
}

}  // namespace loyaltyctl

namespace {

int exit_code_for(loyalty::ErrorCode code) {
  switch (code) {
    case loyalty::ErrorCode::invalid:
      return 2;
    case loyalty::ErrorCode::not_found:
      return 3;
    case loyalty::ErrorCode::conflict:
      return 4;
    case loyalty::ErrorCode::unavailable:
      return 5;
    case loyalty::ErrorCode::unauthorized:
    case loyalty::ErrorCode::forbidden:
      return 6;
    default:
      return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "loyaltyctl: operate the loyalty platform (tenants, rules, rewards, budgets, ledger)"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "show help for every command");
  app.set_version_flag("--version", loyalty::db::version_line("loyaltyctl"),
                       "print the version and the schema version");

  loyaltyctl::Context ctx;
  std::map<std::string, std::string> flag_values;
  std::string config_file;
  app.add_option("--config", config_file, "optional file of NAME=value settings")
      ->envname("LOYALTY_CONFIG");
  for (const auto& option : loyalty::config::options()) {
    if (option.daemon_only) continue;
    app.add_option_function<std::string>(
           "--" + option.flag,
           [&flag_values, flag = option.flag](const std::string& v) { flag_values[flag] = v; },
           option.help + " [env " + option.env + ", default '" + option.default_value + "']")
        ->type_name("VALUE");
  }

  auto groups = loyaltyctl::command_groups();
  std::stable_sort(groups.begin(), groups.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [order, add] : groups) add(app, ctx);

  // Settings must be resolved after parsing but before any subcommand callback runs.
  app.parse_complete_callback([&] {
    ctx.settings = loyalty::config::resolve(flag_values, config_file);
    loyalty::log::init_cli(ctx.settings.log_level);
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const loyalty::Error& e) {
    std::cerr << "loyaltyctl: " << e.what() << "\n";
    for (const auto& field : e.fields()) {
      std::cerr << "  " << (field.pointer.empty() ? "/" : field.pointer) << ": " << field.message
                << "\n";
    }
    return exit_code_for(e.code());
  } catch (const std::exception& e) {
    std::cerr << "loyaltyctl: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
