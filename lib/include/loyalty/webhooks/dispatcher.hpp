#pragma once
// The webhook dispatcher: claims due deliveries of every tenant (leases, FOR UPDATE SKIP
// LOCKED, so several daemons share the queue and none sends a delivery another holds), sends
// them signed through the outbound HTTP client — many at once, bounded per subscription — and
// records each attempt, the retry schedule and the subscription's circuit breaker.

#include <loyalty/core/actor.hpp>
#include <loyalty/outbound/http_client.hpp>
#include <loyalty/outbound/retry.hpp>
#include <loyalty/webhooks/deliveries.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace loyalty::db {
class Database;
}

namespace loyalty::webhooks {

struct DispatcherOptions {
  outbound::ClientOptions client;
  outbound::RetrySchedule schedule = outbound::RetrySchedule::standard();
  std::chrono::milliseconds timeout{10000};   ///< per attempt
  int breaker_threshold = 5;                  ///< consecutive failures that open the breaker
  std::chrono::seconds breaker_cooldown{60};  ///< open this long before a half-open probe
  std::chrono::seconds disable_after{5 * 24 * 3600};  ///< failing this long disables it
  std::chrono::seconds lease{60};                     ///< a claimed delivery is held this long
  /// The longest an idle dispatcher waits to claim again: new deliveries wake it at once
  /// (NOTIFY), scheduled retries come due on this timer.
  std::chrono::milliseconds poll{250};
  int claim_batch = 200;
  std::string worker_id;  ///< names this daemon in leases and attempts
};

/// Counters since start, for /metrics.
struct DispatcherStats {
  std::uint64_t delivered = 0;
  std::uint64_t retrying = 0;  ///< failed attempts with another to come
  std::uint64_t failed = 0;    ///< deliveries that used up their schedule
  std::uint64_t disabled = 0;  ///< subscriptions disabled after failing for disable_after
  std::uint64_t stale = 0;     ///< attempts whose lease had passed to another worker
  std::uint64_t in_flight = 0;
};

/// The queue's state across tenants, for /metrics.
struct Backlog {
  std::int64_t pending = 0;               ///< deliveries waiting (due or scheduled)
  double oldest_pending_seconds = 0;      ///< age of the oldest pending delivery
  std::int64_t subscriptions_paused = 0;  ///< breakers open
  std::int64_t subscriptions_failing = 0;
  std::int64_t subscriptions_disabled = 0;
};

Backlog backlog(db::Database& db);

class Dispatcher {
 public:
  Dispatcher(db::Database& db, DispatcherOptions options);
  /// Stops if stop() was not called.
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  /// Starts the dispatching thread.
  void start();
  /// Stops claiming, waits for the attempts in flight and records them. Idempotent.
  void stop();

  /// Sends a webhook.test message to one subscription at once (active or not, breaker or not)
  /// and returns the delivery with its attempt. Not retried; the breaker does not count it.
  Delivery send_test(const std::string& tenant_id, const Actor& actor,
                     const std::string& subscription_id);

  DispatcherStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loyalty::webhooks
