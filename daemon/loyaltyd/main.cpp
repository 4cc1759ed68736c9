// loyaltyd: the HTTP API, channel webhooks, background worker and dashboard of the platform.
#include "openapi.hpp"
#include "server.hpp"
#include "worker.hpp"

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/db/migrations.hpp>
#include <loyalty/log/log.hpp>
#include <loyalty/webhooks/settings.hpp>

#include <sys/resource.h>
#include <systemd/sd-daemon.h>

#include <csignal>
#include <iostream>
#include <thread>

namespace {

/// Blocks SIGTERM/SIGINT in every thread and waits for them in one, which stops the server.
std::thread start_signal_waiter(loyaltyd::Server& server, loyaltyd::App& app) {
  return std::thread([&server, &app] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    sigwait(&set, &sig);
    if (app.stopping.exchange(true)) return;
    spdlog::info(R"("msg":"daemon.stopping","signal":{})", sig);
    sd_notify(0, "STOPPING=1");
    server.stop();
  });
}

/// Raises the open-file limit to its hard maximum: every client connection is a descriptor, and
/// the usual soft limit of 1,024 is below the connection cap.
void raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"loyaltyd: the loyalty platform's HTTP API, channel webhooks and worker"};
  std::map<std::string, std::string> flags;
  std::string config_file;
  cli.add_option("--config", config_file, "optional file of NAME=value settings")
      ->envname("LOYALTY_CONFIG");
  for (const auto& option : loyalty::config::options()) {
    cli.add_option_function<std::string>(
           "--" + option.flag,
           [&flags, flag = option.flag](const std::string& v) { flags[flag] = v; },
           option.help + " [env " + option.env + ", default '" + option.default_value + "']")
        ->type_name("VALUE");
  }
  cli.set_version_flag("--version", loyalty::db::version_line("loyaltyd"),
                       "print the version and the schema version");
  bool print_routes = false, print_openapi = false;
  cli.add_flag("--routes", print_routes, "print the route table as JSON and exit");
  cli.add_flag("--openapi", print_openapi, "print the OpenAPI document and exit");
  CLI11_PARSE(cli, argc, argv);

  if (print_openapi) {
    std::cout << loyaltyd::openapi_document().dump(2) << "\n";
    return 0;
  }
  if (print_routes) {
    loyaltyd::App app;
    loyaltyd::Server server(app);
    loyaltyd::add_all_routes(server, app);
    std::cout << loyaltyd::route_table_json(server).dump(2) << "\n";
    return 0;
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  raise_file_limit();
  loyaltyd::App app;
  try {
    app.settings = loyalty::config::resolve(flags, config_file);
    loyalty::log::init_daemon(app.settings.log_level);
    app.db = loyalty::db::Database::open(app.settings, loyalty::db::Role::app);
    loyalty::db::require_schema_at_head(*app.db);
    app.events = std::make_unique<loyalty::events::EventGroups>(
        *app.db, app.rules_cache,
        loyalty::events::EventGroups::Options{
            static_cast<std::size_t>(app.settings.event_group_max),
            static_cast<std::size_t>(app.settings.event_lanes)});
    loyaltyd::init_security(app);
    app.webhook_policy = loyalty::webhooks::address_policy(app.settings);
    app.webhooks = std::make_unique<loyalty::webhooks::Dispatcher>(
        *app.db, loyalty::webhooks::dispatcher_options(app.settings));
    app.notices = std::make_unique<loyalty::notices::Sender>(
        *app.db, loyalty::notices::sender_options(app.settings));
    app.web = loyaltyd::WebAssets::load(app.settings.web_dir);
    if (app.web) {
      spdlog::info(R"("msg":"daemon.dashboard","files":{})", app.web->files());
    } else {
      spdlog::info(R"("msg":"daemon.dashboard_not_built","web_dir":{})",
                   loyalty::log::quote(app.settings.web_dir));
    }

    loyaltyd::Server server(app);
    loyaltyd::add_all_routes(server, app);
    int port = server.bind(app.settings.listen);
    auto host = app.settings.listen.substr(0, app.settings.listen.rfind(':'));
    spdlog::info(R"("msg":"daemon.listening","address":"{}:{}","workers":{})", host, port,
                 app.settings.workers);
    loyaltyd::BackgroundWorker worker(app);
    if (app.settings.workers > 0) {
      app.webhooks->start();
      app.notices->start();
    }
    std::thread signals = start_signal_waiter(server, app);
    // Under systemd (Type=notify) the unit is started once the socket listens and the schema
    // was checked; without NOTIFY_SOCKET this does nothing.
    sd_notify(0, "READY=1");
    server.serve();
    app.webhooks->stop();
    app.notices->stop();
    worker.stop();
    if (!app.stopping.exchange(true)) {
      pthread_kill(signals.native_handle(), SIGTERM);
    }
    signals.join();
    spdlog::info(R"("msg":"daemon.stopped")");
  } catch (const loyalty::Error& e) {
    std::cerr << "loyaltyd: " << e.what() << "\n";
    return e.code() == loyalty::ErrorCode::invalid ? 2 : 1;
  } catch (const std::exception& e) {
    std::cerr << "loyaltyd: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
