#include "metrics.hpp"

#include "edge.hpp"

#include <loyalty/db/database.hpp>

#include <sstream>
#include <string_view>

namespace loyaltyd {

namespace {

/// A label value as the text format wants it: backslash, quote and newline escaped.
std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void family(std::ostringstream& out, std::string_view name, std::string_view type,
            std::string_view help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

/// One series per value of an enum, zeros included.
template <typename Enum, std::size_t N>
void enum_series(std::ostringstream& out, std::string_view name, std::string_view label_name,
                 const loyalty::metrics::EnumCounters<Enum>& counters,
                 const std::array<std::string_view, N>& names) {
  for (std::size_t i = 0; i < N; ++i) {
    out << name << '{' << label_name << "=\"" << names[i] << "\"} "
        << counters.get(static_cast<Enum>(i)) << '\n';
  }
}

/// One series per label value seen.
template <std::size_t Capacity>
void labelled_series(std::ostringstream& out, std::string_view name, std::string_view label_name,
                     const loyalty::metrics::LabelledCounters<Capacity>& counters) {
  counters.each([&](std::string_view value, const auto& counts) {
    out << name << '{' << label_name << "=\"" << label(value) << "\"} " << counts[0] << '\n';
  });
}

}  // namespace

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

std::string Metrics::render_notices(const loyalty::notices::SenderStats& stats,
                                    const std::optional<loyalty::notices::QueueDepth>& queue) {
  std::ostringstream out;
  family(out, "loyalty_notices_total", "counter",
         "Notices and replies this daemon's sender finished an attempt of, by outcome (retried: "
         "to be sent again later, or as a template).");
  out << "loyalty_notices_total{outcome=\"sent\"} " << stats.sent << '\n'
      << "loyalty_notices_total{outcome=\"retried\"} " << stats.retried << '\n'
      << "loyalty_notices_total{outcome=\"failed\"} " << stats.failed << '\n'
      << "loyalty_notices_total{outcome=\"cancelled\"} " << stats.cancelled << '\n';
  family(out, "loyalty_notice_sender_errors_total", "counter",
         "Failed claims and records of the notice sender (e.g. the database unreachable).");
  out << "loyalty_notice_sender_errors_total " << stats.errors << '\n';
  if (queue) {
    family(out, "loyalty_notices_queued", "gauge",
           "Notices and replies not yet sent, all tenants (waiting: a retry's backoff or a "
           "sender's lease).");
    out << "loyalty_notices_queued{state=\"due\"} " << queue->due << '\n'
        << "loyalty_notices_queued{state=\"waiting\"} " << queue->waiting << '\n';
    family(out, "loyalty_notices_oldest_due_seconds", "gauge",
           "How long the oldest due notice has waited (0 when none is due).");
    out << "loyalty_notices_oldest_due_seconds " << queue->oldest_due_seconds << '\n';
  }
  return out.str();
}

std::string Metrics::render_counters(const loyalty::metrics::Counters& c) {
  namespace m = loyalty::metrics;
  std::ostringstream out;
  family(out, "loyalty_events_total", "counter",
         "Events processed by type and outcome (types beyond the first 32 count as other).");
  c.events.each([&](std::string_view type, const auto& counts) {
    for (std::size_t i = 0; i < m::kEventOutcomeNames.size(); ++i) {
      out << "loyalty_events_total{type=\"" << label(type) << "\",outcome=\""
          << m::kEventOutcomeNames[i] << "\"} " << counts[i] << '\n';
    }
  });
  family(out, "loyalty_events_rejected_total", "counter",
         "Events not processed, by problem type (refused, or the database unavailable).");
  labelled_series(out, "loyalty_events_rejected_total", "problem", c.events_rejected);
  family(out, "loyalty_event_group_size", "histogram",
         "Events processed together in one transaction and one COMMIT (group commit).");
  for (std::size_t i = 0; i < m::GroupSizes::kBounds.size(); ++i) {
    out << "loyalty_event_group_size_bucket{le=\"" << m::GroupSizes::kBounds[i] << "\"} "
        << c.event_groups.at_most(i) << "\n";
  }
  out << "loyalty_event_group_size_bucket{le=\"+Inf\"} " << c.event_groups.groups() << "\n"
      << "loyalty_event_group_size_sum " << c.event_groups.events() << "\n"
      << "loyalty_event_group_size_count " << c.event_groups.groups() << "\n";
  family(out, "loyalty_rule_evaluations_total", "counter",
         "Rules evaluated against events, by result (error: stopped by a limit).");
  enum_series(out, "loyalty_rule_evaluations_total", "result", c.rule_evaluations,
              m::kRuleEvaluationNames);
  family(out, "loyalty_rewards_not_issued_total", "counter",
         "Matching rules (or events) that gave no reward, by reason.");
  labelled_series(out, "loyalty_rewards_not_issued_total", "reason", c.rewards_not_issued);
  family(out, "loyalty_issuance_transitions_total", "counter",
         "Issuance state changes made by this daemon (refunded: cancelled by a refund event).");
  enum_series(out, "loyalty_issuance_transitions_total", "transition", c.issuances,
              m::kIssuanceTransitionNames);
  family(out, "loyalty_redemptions_total", "counter",
         "Redemption attempts by outcome: redeemed, or the problem type of the refusal.");
  labelled_series(out, "loyalty_redemptions_total", "outcome", c.redemptions);
  family(out, "loyalty_rules_cache_lookups_total", "counter",
         "Rules cache look-ups by result (miss: rules loaded and compiled).");
  enum_series(out, "loyalty_rules_cache_lookups_total", "result", c.rules_cache,
              m::kCacheLookupNames);
  return out.str();
}

std::string Metrics::render_worker(const loyalty::jobs::WorkerStats& stats) {
  std::ostringstream out;
  family(out, "loyalty_worker_jobs_total", "counter",
         "Jobs this daemon's worker finished, by outcome.");
  out << "loyalty_worker_jobs_total{outcome=\"done\"} " << stats.done << '\n'
      << "loyalty_worker_jobs_total{outcome=\"retried\"} " << stats.retried << '\n'
      << "loyalty_worker_jobs_total{outcome=\"dead\"} " << stats.dead << '\n'
      << "loyalty_worker_jobs_total{outcome=\"released\"} " << stats.released << '\n';
  family(out, "loyalty_worker_errors_total", "counter",
         "Failed claims and bookkeeping of the worker (e.g. the database unreachable).");
  out << "loyalty_worker_errors_total " << stats.errors << '\n';
  return out.str();
}

std::string Metrics::render_database(
    const std::optional<loyalty::jobs::QueueDepth>& queue,
    const std::optional<loyalty::budgets::UtilisationTop>& budgets) {
  std::ostringstream out;
  family(out, "loyalty_database_up", "gauge",
         "1 when this scrape could read the queue and budgets from the database, else 0.");
  out << "loyalty_database_up " << (queue && budgets ? 1 : 0) << '\n';
  if (queue) {
    family(out, "loyalty_jobs", "gauge",
           "Jobs in the queue by state, all tenants (scheduled: waiting for a retry).");
    out << "loyalty_jobs{state=\"due\"} " << queue->due << '\n'
        << "loyalty_jobs{state=\"scheduled\"} " << queue->scheduled << '\n'
        << "loyalty_jobs{state=\"running\"} " << queue->running << '\n'
        << "loyalty_jobs{state=\"dead\"} " << queue->dead << '\n';
    family(out, "loyalty_jobs_oldest_due_seconds", "gauge",
           "How long the oldest due job has waited (0 when none is due).");
    out << "loyalty_jobs_oldest_due_seconds " << queue->oldest_due_seconds << '\n';
  }
  if (budgets) {
    family(out, "loyalty_budgets_funded", "gauge", "Budgets with a total above zero, all tenants.");
    out << "loyalty_budgets_funded " << budgets->funded_budgets << '\n';
    family(out, "loyalty_budget_utilisation_ratio", "gauge",
           "Share of a budget's total reserved, utilized or spent, for the most utilised "
           "budgets.");
    for (const auto& b : budgets->top) {
      out << "loyalty_budget_utilisation_ratio{tenant=\"" << label(b.tenant_slug) << "\",budget=\""
          << label(b.budget_id) << "\"} " << b.ratio << '\n';
    }
  }
  return out.str();
}

}  // namespace loyaltyd
