#include "db/tx.hpp"

#include <loyalty/jobs/admin.hpp>

namespace loyalty::jobs {

namespace {

const db::Query kDepth{"jobs_metrics_depth", R"sql(
SELECT due, scheduled, running, dead, oldest_due_seconds FROM metrics_job_queue()
)sql"};

}  // namespace

QueueDepth queue_depth(db::Database& database) {
  return db::read_once(database, [](db::Tx& tx) {
    auto r = tx.exec1(kDepth);
    QueueDepth d;
    d.due = r["due"].as<long long>();
    d.scheduled = r["scheduled"].as<long long>();
    d.running = r["running"].as<long long>();
    d.dead = r["dead"].as<long long>();
    d.oldest_due_seconds = r["oldest_due_seconds"].as<double>();
    return d;
  });
}

}  // namespace loyalty::jobs
