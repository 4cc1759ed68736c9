// GET /health, /ready, /metrics.
#include "server.hpp"

#include "openapi.hpp"

#include <loyalty/db/migrations.hpp>

namespace loyaltyd {

namespace {

void add_health_routes(Server& server, App& app) {
  server.add({"GET", "/health", kPublic,
              [&app](Request&) {
                bool db_ok = app.db->ping();
                return Reply::json(db_ok ? 200 : 503, {{"status", db_ok ? "ok" : "unavailable"},
                                                       {"database", db_ok ? "ok" : "unreachable"}});
              },
              "process and database liveness"});

  server.add({"GET", "/ready", kPublic,
              [&app](Request&) {
                nlohmann::json body = {{"status", "ready"}};
                int status = 200;
                try {
                  loyalty::db::require_schema_at_head(*app.db);
                  body["schema"] = "at head";
                } catch (const loyalty::Error& e) {
                  status = 503;
                  body["status"] = "not ready";
                  body["schema"] = e.what();
                }
                body["worker"] = app.worker_alive.load() ? "alive" : "stopped";
                if (!app.worker_alive.load()) status = 503;
                return Reply::json(status, body);
              },
              "schema at head and worker alive"});

  server.add({"GET", "/metrics", kPublic,
              [&app](Request&) {
                std::string text = app.metrics.render(app.db->stats());
                if (app.webhooks) {
                  std::optional<loyalty::webhooks::Backlog> backlog;
                  try {
                    backlog = loyalty::webhooks::backlog(*app.db);
                  } catch (const std::exception&) {
                    // the database is away: the counters of this process still show
                  }
                  text += Metrics::render_webhooks(app.webhooks->stats(), backlog);
                }
                if (app.notices) {
                  std::optional<loyalty::notices::QueueDepth> notices;
                  try {
                    notices = loyalty::notices::queue_depth(*app.db);
                  } catch (const std::exception&) {
                    // the database is away: the sender's counters still show
                  }
                  text += Metrics::render_notices(app.notices->stats(), notices);
                }
                text += Metrics::render_counters(loyalty::metrics::counters());
                if (const auto* worker = app.worker.load()) {
                  text += Metrics::render_worker(worker->stats());
                }
                // Read at each scrape: the queue through partial indexes, the budgets table
                // (one row per budget) sorted; a few milliseconds, no cache to go stale.
                std::optional<loyalty::jobs::QueueDepth> queue;
                std::optional<loyalty::budgets::UtilisationTop> budgets;
                try {
                  queue = loyalty::jobs::queue_depth(*app.db);
                  budgets = loyalty::budgets::most_utilised(*app.db, Metrics::kBudgetSeries);
                } catch (const std::exception&) {
                  // the database is away: loyalty_database_up says so
                }
                text += Metrics::render_database(queue, budgets);
                return Reply::text(200, text, "text/plain; version=0.0.4; charset=utf-8");
              },
              "Prometheus metrics"});

  server.add({"GET", "/openapi.json", kPublic,
              [](Request&) { return Reply::json(200, openapi_document()); },
              "this API's OpenAPI 3.1 document"});
}

const RouteGroup kHealthRoutes(add_health_routes);

}  // namespace

}  // namespace loyaltyd
