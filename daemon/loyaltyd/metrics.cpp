#include "metrics.hpp"

#include "edge.hpp"

#include <loyalty/db/database.hpp>

#include <sstream>

namespace loyaltyd {

void Metrics::observe(const std::string& method, const std::string& route, int status,
                      double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{method, route, status}];
  auto& h = latency_[route];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

std::string Metrics::render(const loyalty::db::PoolStats& pool) const {
  std::ostringstream out;
  std::lock_guard lock(mutex_);
  out << "# HELP loyalty_http_requests_total HTTP requests by route, method and status.\n"
      << "# TYPE loyalty_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    const auto& [method, route, status] = key;
    out << "loyalty_http_requests_total{method=\"" << method << "\",route=\"" << route
        << "\",status=\"" << status << "\"} " << count << "\n";
  }
  out << "# HELP loyalty_http_request_duration_seconds Request latency by route.\n"
      << "# TYPE loyalty_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      out << "loyalty_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\""
          << kBuckets[i] << "\"} " << h.buckets[i] << "\n";
    }
    out << "loyalty_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\"+Inf\"} "
        << h.count << "\n"
        << "loyalty_http_request_duration_seconds_sum{route=\"" << route << "\"} " << h.sum << "\n"
        << "loyalty_http_request_duration_seconds_count{route=\"" << route << "\"} " << h.count
        << "\n";
  }
  out << "# HELP loyalty_db_pool_connections Database pool connections by state.\n"
      << "# TYPE loyalty_db_pool_connections gauge\n"
      << "loyalty_db_pool_connections{state=\"open\"} " << pool.size << "\n"
      << "loyalty_db_pool_connections{state=\"in_use\"} " << pool.in_use << "\n"
      << "loyalty_db_pool_connections{state=\"idle\"} " << pool.idle << "\n"
      << "# HELP loyalty_db_pool_waiting Requests waiting for a database connection.\n"
      << "# TYPE loyalty_db_pool_waiting gauge\n"
      << "loyalty_db_pool_waiting " << pool.waiting << "\n"
      << "# HELP loyalty_db_pool_replaced_total Broken connections replaced.\n"
      << "# TYPE loyalty_db_pool_replaced_total counter\n"
      << "loyalty_db_pool_replaced_total " << pool.replaced << "\n";
  if (edge_ != nullptr) {
    out << "# HELP loyalty_http_connections_open Client connections open now.\n"
        << "# TYPE loyalty_http_connections_open gauge\n"
        << "loyalty_http_connections_open " << edge_->open_connections << "\n"
        << "# HELP loyalty_http_connections_total Client connections by outcome at the edge.\n"
        << "# TYPE loyalty_http_connections_total counter\n"
        << "loyalty_http_connections_total{outcome=\"accepted\"} " << edge_->accepted << "\n"
        << "loyalty_http_connections_total{outcome=\"refused\"} " << edge_->refused << "\n"
        << "loyalty_http_connections_total{outcome=\"timed_out\"} " << edge_->timed_out << "\n"
        << "# HELP loyalty_http_rejected_total Requests the edge answered itself (limits, "
           "overload).\n"
        << "# TYPE loyalty_http_rejected_total counter\n"
        << "loyalty_http_rejected_total " << edge_->rejected << "\n";
  }
  return out.str();
}

std::string Metrics::render_webhooks(const loyalty::webhooks::DispatcherStats& stats,
                                     const std::optional<loyalty::webhooks::Backlog>& backlog) {
  std::ostringstream out;
  out << "# HELP loyalty_webhook_attempts_total Webhook attempts by outcome, since start.\n"
      << "# TYPE loyalty_webhook_attempts_total counter\n"
      << "loyalty_webhook_attempts_total{outcome=\"delivered\"} " << stats.delivered << "\n"
      << "loyalty_webhook_attempts_total{outcome=\"retrying\"} " << stats.retrying << "\n"
      << "loyalty_webhook_attempts_total{outcome=\"failed\"} " << stats.failed << "\n"
      << "loyalty_webhook_attempts_total{outcome=\"stale\"} " << stats.stale << "\n"
      << "# HELP loyalty_webhook_in_flight Webhook attempts in progress in this daemon.\n"
      << "# TYPE loyalty_webhook_in_flight gauge\n"
      << "loyalty_webhook_in_flight " << stats.in_flight << "\n";
  if (backlog) {
    out << "# HELP loyalty_webhook_backlog Deliveries pending, all tenants.\n"
        << "# TYPE loyalty_webhook_backlog gauge\n"
        << "loyalty_webhook_backlog " << backlog->pending << "\n"
        << "# HELP loyalty_webhook_oldest_pending_seconds Age of the oldest pending delivery.\n"
        << "# TYPE loyalty_webhook_oldest_pending_seconds gauge\n"
        << "loyalty_webhook_oldest_pending_seconds " << backlog->oldest_pending_seconds << "\n"
        << "# HELP loyalty_webhook_subscriptions Subscriptions by breaker state, all tenants.\n"
        << "# TYPE loyalty_webhook_subscriptions gauge\n"
        << "loyalty_webhook_subscriptions{state=\"open\"} " << backlog->subscriptions_paused << "\n"
        << "loyalty_webhook_subscriptions{state=\"failing\"} " << backlog->subscriptions_failing
        << "\n"
        << "loyalty_webhook_subscriptions{state=\"disabled\"} " << backlog->subscriptions_disabled
        << "\n";
  }
  return out.str();
}

}  // namespace loyaltyd
