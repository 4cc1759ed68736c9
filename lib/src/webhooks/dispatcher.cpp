#include "audit/audit.hpp"
#include "db/tx.hpp"

#include <spdlog/spdlog.h>
#include <loyalty/core/crypto.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/log/log.hpp>
#include <loyalty/webhooks/dispatcher.hpp>
#include <loyalty/webhooks/signature.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace loyalty::webhooks {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

const db::Query kClaim{"webhook_claim", R"sql(
SELECT delivery_id, tenant_id::text AS tenant_id, subscription_id::text AS subscription_id, url,
       array_to_json(secrets)::text AS secrets, message_id, event_type, payload::text AS payload,
       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
       attempt, failures, probe
  FROM webhook_claim($1, $2, $3, $4, $5))sql"};
const db::Query kRecord{"webhook_record",
                        "SELECT webhook_record($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"};
const db::Query kBacklog{"webhook_backlog", "SELECT * FROM webhook_backlog()"};

// A test send: its own message, and a delivery already held by the sender.
const db::Query kTestTarget{"webhook_test_target", R"sql(
SELECT url, array_to_json(CASE WHEN previous_secret IS NOT NULL AND previous_secret_until > now()
                               THEN ARRAY[secret, previous_secret] ELSE ARRAY[secret] END)::text
  FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2::uuid)sql"};
const db::Query kTestMessage{"webhook_test_message", R"sql(
WITH o AS (
  INSERT INTO outbox (tenant_id, event_type, payload)
  VALUES ($1, 'webhook.test', jsonb_build_object('subscription_id', $2::text,
                                                 'message', 'a test from loyaltyd'))
  RETURNING id, message_id, payload, created_at),
d AS (
  INSERT INTO webhook_deliveries (tenant_id, outbox_id, subscription_id, attempts, leased_by,
                                  next_attempt_at)
  SELECT $1, o.id, $2::uuid, 1, $3, now() + interval '1 minute' FROM o
  RETURNING id)
SELECT d.id, o.message_id, o.payload::text,
       to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
  FROM d, o)sql"};

/// One claimed delivery on its way.
struct Job {
  std::int64_t delivery_id = 0;
  std::string tenant_id;
  std::string subscription_id;
  std::string url;
  std::vector<std::string> secrets;
  std::string message_id;
  std::string event_type;
  std::string body;
  int attempt = 1;
  int failures = 0;  ///< failed attempts before this one since the last replay
  bool counts_for_breaker = true;
  std::string worker;  ///< who holds its lease
};

/// The body every attempt of a message carries, byte for byte: Standard Webhooks' recommended
/// {type, timestamp, data}, the timestamp being the message's.
std::string message_body(const std::string& type, const std::string& created_at,
                         const std::string& payload) {
  return json{{"type", type}, {"timestamp", created_at}, {"data", json::parse(payload)}}.dump();
}

outbound::Request request_for(const Job& job, std::chrono::milliseconds timeout) {
  auto headers = webhook_headers(
      job.secrets, job.message_id,
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()),
      job.body);
  outbound::Request r;
  r.url = job.url;
  r.body = job.body;
  r.timeout = timeout;
  r.destination = job.subscription_id;
  r.headers = {{"content-type", "application/json"},
               {"user-agent", "loyaltyd-webhooks/1"},
               {std::string(kWebhookIdHeader), headers.id},
               {std::string(kWebhookTimestampHeader), headers.timestamp},
               {std::string(kWebhookSignatureHeader), headers.signature}};
  return r;
}

}  // namespace

Backlog backlog(db::Database& database) {
  return db::read_once(database, [](db::Tx& tx) {
    auto r = tx.exec1(kBacklog);
    Backlog b;
    b.pending = r[0].as<std::int64_t>();
    b.oldest_pending_seconds = r[1].as<double>();
    b.subscriptions_paused = r[2].as<std::int64_t>();
    b.subscriptions_failing = r[3].as<std::int64_t>();
    b.subscriptions_disabled = r[4].as<std::int64_t>();
    return b;
  });
}

struct Dispatcher::Impl {
  Impl(db::Database& database, DispatcherOptions o)
      : db(database), options(std::move(o)), client(options.client) {
    if (options.worker_id.empty())
      options.worker_id = "loyaltyd:" + crypto::hex_encode(crypto::random_bytes(4));
  }

  db::Database& db;
  DispatcherOptions options;
  outbound::HttpClient client;

  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::pair<Job, outbound::Response>> done;
  std::size_t in_flight = 0;
  bool stopping = false;
  std::thread thread;

  std::atomic<std::uint64_t> delivered{0}, retrying{0}, failed{0}, disabled{0}, stale{0};

  void run() {
    auto last_error_log = Clock::now() - std::chrono::minutes(1);
    while (true) {
      std::size_t capacity = 0;
      {
        std::lock_guard lock(mutex);
        if (stopping) break;
        const std::size_t limit = options.client.max_in_flight;
        capacity = in_flight < limit ? limit - in_flight : 0;
      }
      std::size_t claimed = 0;
      try {
        if (capacity > 0) claimed = claim_and_send(capacity);
        record_done();
      } catch (const std::exception& e) {
        // The database is away: try again after a pause, without a log line per poll.
        if (Clock::now() - last_error_log > std::chrono::seconds(30)) {
          spdlog::warn(R"("msg":"webhooks.dispatch_failed","error":{})", log::quote(e.what()));
          last_error_log = Clock::now();
        }
        std::unique_lock lock(mutex);
        wake.wait_for(lock, std::chrono::seconds(1), [&] { return stopping; });
        continue;
      }
      std::unique_lock lock(mutex);
      if (claimed == 0 && done.empty() && !stopping) {
        wake.wait_for(lock, options.poll, [&] { return stopping || !done.empty(); });
      }
    }
    // Stopping: what is in flight ends (each within its timeout) and is recorded.
    std::unique_lock lock(mutex);
    while (in_flight > 0 || !done.empty()) {
      wake.wait_for(lock, std::chrono::milliseconds(50), [&] { return !done.empty(); });
      lock.unlock();
      try {
        record_done();
      } catch (const std::exception&) {
        lock.lock();
        break;
      }
      lock.lock();
    }
  }

  std::size_t claim_and_send(std::size_t capacity) {
    const int limit = static_cast<int>(std::min<std::size_t>(capacity, options.claim_batch));
    auto rows = db::with_tx(db, [&](db::Tx& tx) {
      return tx.exec(kClaim, options.worker_id, limit,
                     static_cast<int>(options.client.max_per_destination),
                     static_cast<int>(options.lease.count()), options.breaker_threshold);
    });
    for (const auto& r : rows) {
      Job job;
      job.delivery_id = r["delivery_id"].as<std::int64_t>();
      job.tenant_id = r["tenant_id"].as<std::string>();
      job.subscription_id = r["subscription_id"].as<std::string>();
      job.url = r["url"].as<std::string>();
      job.secrets = json::parse(r["secrets"].as<std::string>()).get<std::vector<std::string>>();
      job.message_id = r["message_id"].as<std::string>();
      job.event_type = r["event_type"].as<std::string>();
      job.body = message_body(job.event_type, r["created_at"].as<std::string>(),
                              r["payload"].as<std::string>());
      job.attempt = r["attempt"].as<int>();
      job.failures = r["failures"].as<int>();
      job.worker = options.worker_id;
      send(std::move(job));
    }
    return rows.size();
  }

  void send(Job job) {
    outbound::Request request;
    try {
      request = request_for(job, options.timeout);
    } catch (const std::exception& e) {
      outbound::Response refused;
      refused.error = std::string("cannot sign: ") + e.what();
      std::lock_guard lock(mutex);
      done.emplace_back(std::move(job), std::move(refused));
      return;
    }
    {
      std::lock_guard lock(mutex);
      ++in_flight;
    }
    auto shared = std::make_shared<Job>(std::move(job));
    const bool queued = client.submit(std::move(request), [this, shared](outbound::Response r) {
      {
        std::lock_guard lock(mutex);
        --in_flight;
        done.emplace_back(std::move(*shared), std::move(r));
      }
      wake.notify_all();
    });
    if (!queued) {
      outbound::Response full;
      full.error = "the outbound queue is full";
      std::lock_guard lock(mutex);
      --in_flight;
      done.emplace_back(std::move(*shared), std::move(full));
    }
  }

  // The finished attempts, recorded in transactions of up to 100 (a commit each, not one per
  // attempt); should one fail, its attempts are recorded one by one.
  void record_done() {
    std::deque<std::pair<Job, outbound::Response>> batch;
    {
      std::lock_guard lock(mutex);
      batch.swap(done);
    }
    while (!batch.empty()) {
      const std::size_t n = std::min<std::size_t>(batch.size(), 100);
      std::vector<std::string> outcomes;
      try {
        outcomes = db::with_tx(db, [&](db::Tx& tx) {
          std::vector<std::string> out;
          for (std::size_t i = 0; i < n; ++i)
            out.push_back(record_in(tx, batch[i].first, batch[i].second));
          return out;
        });
      } catch (const std::exception&) {
        if (n == 1) throw;
        for (std::size_t i = 0; i < n; ++i) record(batch[i].first, batch[i].second);
        batch.erase(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(n));
        continue;
      }
      for (std::size_t i = 0; i < n; ++i) count(outcomes[i], batch[i].first);
      batch.erase(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(n));
    }
  }

  std::string record(const Job& job, const outbound::Response& response) {
    auto outcome = db::with_tx(db, [&](db::Tx& tx) { return record_in(tx, job, response); });
    count(outcome, job);
    return outcome;
  }

  std::string record_in(db::Tx& tx, const Job& job, const outbound::Response& response) {
    std::optional<std::int64_t> retry_ms;
    if (!response.ok() && job.counts_for_breaker) {
      auto wait = outbound::next_retry(options.schedule, job.failures + 1, response.retry_after);
      if (wait) retry_ms = wait->count();
    }
    const int status = response.status;
    const std::string error = response.ok() ? ""
                                            : (response.error.empty() && status != 0
                                                   ? "answered " + std::to_string(status)
                                                   : response.error);
    return tx
        .exec1(kRecord, job.delivery_id, job.worker, job.attempt, status, error,
               static_cast<int>(response.duration.count()), response.body, retry_ms,
               job.counts_for_breaker ? options.breaker_threshold : 0,
               static_cast<int>(options.breaker_cooldown.count()),
               static_cast<int>(options.disable_after.count()))[0]
        .as<std::string>();
  }

  void count(const std::string& outcome, const Job& job) {
    if (outcome == "delivered") {
      ++delivered;
    } else if (outcome == "retrying") {
      ++retrying;
    } else if (outcome == "failed") {
      ++failed;
    } else if (outcome == "disabled") {
      ++disabled;
      ++failed;
      spdlog::warn(R"("msg":"webhooks.subscription_disabled","tenant":{},"subscription":{})",
                   log::quote(job.tenant_id), log::quote(job.subscription_id));
    } else if (outcome == "stale") {
      ++stale;
    }
  }
};

Dispatcher::Dispatcher(db::Database& database, DispatcherOptions options)
    : impl_(std::make_unique<Impl>(database, std::move(options))) {}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::start() {
  if (impl_->thread.joinable()) return;
  impl_->thread = std::thread([this] { impl_->run(); });
}

void Dispatcher::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Delivery Dispatcher::send_test(const std::string& tenant_id, const Actor& actor,
                               const std::string& subscription_id) {
  if (!is_uuid(subscription_id)) throw_not_found("webhook subscription '" + subscription_id + "'");
  Job job;
  job.tenant_id = tenant_id;
  job.subscription_id = subscription_id;
  job.counts_for_breaker = false;
  job.event_type = "webhook.test";
  const std::string holder = impl_->options.worker_id + ":test";
  job.worker = holder;
  db::with_tenant(impl_->db, tenant_id, [&](db::Tx& tx) {
    auto target = tx.exec(kTestTarget, tenant_id, subscription_id);
    if (target.empty()) throw_not_found("webhook subscription '" + subscription_id + "'");
    job.url = target[0][0].as<std::string>();
    job.secrets = json::parse(target[0][1].as<std::string>()).get<std::vector<std::string>>();
    auto m = tx.exec1(kTestMessage, tenant_id, subscription_id, holder);
    job.delivery_id = m[0].as<std::int64_t>();
    job.message_id = m[1].as<std::string>();
    job.body = message_body(job.event_type, m[3].as<std::string>(), m[2].as<std::string>());
    audit::record(tx, tenant_id, actor, "webhook.test", "webhook", subscription_id, nullptr,
                  {{"delivery_id", std::to_string(job.delivery_id)}});
  });
  auto response = impl_->client.send(request_for(job, impl_->options.timeout));
  impl_->record(job, response);
  return get_delivery(impl_->db, tenant_id, job.delivery_id);
}

DispatcherStats Dispatcher::stats() const {
  DispatcherStats s;
  s.delivered = impl_->delivered;
  s.retrying = impl_->retrying;
  s.failed = impl_->failed;
  s.disabled = impl_->disabled;
  s.stale = impl_->stale;
  std::lock_guard lock(impl_->mutex);
  s.in_flight = impl_->in_flight;
  return s;
}

}  // namespace loyalty::webhooks
