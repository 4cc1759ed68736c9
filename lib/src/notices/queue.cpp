#include "db/tx.hpp"

#include <loyalty/notices/queue.hpp>

namespace loyalty::notices {

namespace {

const db::Query kDepth{"ntc_metrics_depth",
                       "SELECT due, waiting, oldest_due_seconds FROM metrics_notice_queue()"};

}  // namespace

QueueDepth queue_depth(db::Database& database) {
  return db::read_once(database, [](db::Tx& tx) {
    auto r = tx.exec1(kDepth);
    QueueDepth d;
    d.due = r["due"].as<long long>();
    d.waiting = r["waiting"].as<long long>();
    d.oldest_due_seconds = r["oldest_due_seconds"].as<double>();
    return d;
  });
}

}  // namespace loyalty::notices
