#pragma once
// Prometheus metrics of the daemon: requests by route and status, latency histogram; the
// library's counters, the worker's, and gauges read from the database at scrape time.

#include <loyalty/budgets/budgets.hpp>
#include <loyalty/jobs/admin.hpp>
#include <loyalty/jobs/worker.hpp>
#include <loyalty/metrics/counters.hpp>
#include <loyalty/notices/queue.hpp>
#include <loyalty/notices/sender.hpp>
#include <loyalty/webhooks/dispatcher.hpp>

#include <optional>

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace loyalty::db {
struct PoolStats;
}

namespace loyaltyd {

struct EdgeStats;

class Metrics {
 public:
  /// The edge whose connection counters render() includes; set once, before serving.
  void attach_edge(const EdgeStats* edge) { edge_ = edge; }
  /// Records one finished request.
  void observe(const std::string& method, const std::string& route, int status, double seconds);
  /// The Prometheus text exposition of everything recorded, plus the pool gauges.
  std::string render(const loyalty::db::PoolStats& pool) const;
  /// The webhook dispatcher's counters, and the queue's state when it could be read.
  static std::string render_webhooks(const loyalty::webhooks::DispatcherStats& stats,
                                     const std::optional<loyalty::webhooks::Backlog>& backlog);
  /// The notice sender's counters, and the notice queue when it could be read.
  static std::string render_notices(const loyalty::notices::SenderStats& stats,
                                    const std::optional<loyalty::notices::QueueDepth>& queue);
  /// The library's counters: events, rule evaluations, issuances, redemptions, rules cache.
  static std::string render_counters(const loyalty::metrics::Counters& counters);
  /// The background worker's counters since start.
  static std::string render_worker(const loyalty::jobs::WorkerStats& stats);
  /// What the database said at this scrape: the job queue and the budgets nearest exhaustion
  /// (each left out when it could not be read), and whether both could be read.
  static std::string render_database(
      const std::optional<loyalty::jobs::QueueDepth>& queue,
      const std::optional<loyalty::budgets::UtilisationTop>& budgets);
  /// Budgets shown one by one (the most utilised first); the count of all is shown beside.
  static constexpr int kBudgetSeries = 20;

 private:
  static constexpr std::array<double, 12> kBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,   0.25,   0.5,   1.0,  2.5,   5.0};
  struct Histogram {
    std::array<unsigned long long, kBuckets.size()> buckets{};
    unsigned long long count = 0;
    double sum = 0;
  };
  const EdgeStats* edge_ = nullptr;
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, unsigned long long> requests_;
  std::map<std::string, Histogram> latency_;
};

}  // namespace loyaltyd
