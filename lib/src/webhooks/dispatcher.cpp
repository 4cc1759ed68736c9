#include "audit/audit.hpp"
#include "db/listener.hpp"
#include "db/tx.hpp"

#include <spdlog/spdlog.h>
#include <loyalty/core/crypto.hpp>
#include <loyalty/core/utf8.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/log/log.hpp>
#include <loyalty/webhooks/dispatcher.hpp>
#include <loyalty/webhooks/signature.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <tuple>

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
// Attempts recorded in one statement, each by webhook_record, in the order given (i from 1).
const db::Query kRecordMany{"webhook_record_many", R"sql(
SELECT t.i, webhook_record(t.d, t.w, t.a, t.s, t.e, t.ms, t.b, t.r, t.br, $10, $11)
  FROM unnest($1::bigint[], $2::text[], $3::int[], $4::int[], $5::text[], $6::int[], $7::text[],
              $8::bigint[], $9::int[]) WITH ORDINALITY AS t(d, w, a, s, e, ms, b, r, br, i)
 ORDER BY t.i)sql"};
// The dispatcher's commits do not wait for the WAL flush: one lost in a crash of the server
// (the last few hundred milliseconds) loses a lease, after which the delivery is claimed again,
// or an attempt's outcome, after which it is sent again under the same webhook-id. Either way
// at least once holds, and a claim or record costs no disk flush.
const db::Query kAsyncCommit{"webhook_async_commit", "SET LOCAL synchronous_commit = off"};
const db::Query kDelivered{"webhook_delivered",
                           "SELECT i, outcome FROM webhook_delivered($1, $2, $3, $4, $5, $6)"};
const db::Query kDisable{"webhook_disable", "SELECT webhook_disable($1, $2)"};

constexpr std::string_view kChannel = "loyalty_webhooks";  ///< NOTIFYed by outbox_fan_out
constexpr std::string_view kDeliveryHeader = "webhook-delivery";
constexpr std::size_t kKeptBody = 1024;  ///< bytes of a response body kept with its attempt
constexpr std::size_t kRecordBatch = 500;
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

std::string header_of(const outbound::Response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return {};
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

// Three threads: the claimer takes due deliveries and hands them to the HTTP client (whose own
// thread sends them); the recorder writes the finished attempts, many per statement, and so frees
// their slots; the listener wakes the claimer when new deliveries are queued. The claimer sleeps
// until one of them wakes it or `poll` passes (scheduled retries come due on the timer).
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
  std::condition_variable claim_wake;   ///< work may be due, or a slot came free
  std::condition_variable record_wake;  ///< attempts finished
  std::deque<std::pair<Job, outbound::Response>> done;
  std::size_t in_flight = 0;
  bool work_hint = true;
  bool stopping = false;
  bool claimer_done = false;  ///< nothing more will be sent
  std::thread claimer, recorder, listener;

  std::atomic<std::uint64_t> delivered{0}, retrying{0}, failed{0}, disabled{0}, stale{0};

  void wake_claimer() {
    {
      std::lock_guard lock(mutex);
      work_hint = true;
    }
    claim_wake.notify_one();
  }

  void listen() {
    db::Listener l(db.url(), std::string(kChannel));
    while (true) {
      {
        std::lock_guard lock(mutex);
        if (stopping) return;
      }
      if (l.wait(std::chrono::milliseconds(250))) wake_claimer();
    }
  }

  void claim_loop() {
    auto last_error_log = Clock::now() - std::chrono::minutes(1);
    while (true) {
      std::size_t capacity = 0;
      {
        std::unique_lock lock(mutex);
        claim_wake.wait_for(lock, options.poll, [&] { return stopping || work_hint; });
        if (stopping) return;
        work_hint = false;
        const std::size_t limit = options.client.max_in_flight;
        capacity = in_flight < limit ? limit - in_flight : 0;
      }
      try {
        // A full claim means more may be due: claim again at once, while there is room.
        while (capacity > 0) {
          const std::size_t want = std::min<std::size_t>(capacity, options.claim_batch);
          const std::size_t got = claim_and_send(want);
          if (got < want) break;
          std::lock_guard lock(mutex);
          if (stopping) return;
          const std::size_t limit = options.client.max_in_flight;
          capacity = in_flight < limit ? limit - in_flight : 0;
        }
      } catch (const std::exception& e) {
        // The database is away: try again after a pause, without a log line per poll.
        if (Clock::now() - last_error_log > std::chrono::seconds(30)) {
          spdlog::warn(R"("msg":"webhooks.dispatch_failed","error":{})", log::quote(e.what()));
          last_error_log = Clock::now();
        }
        std::unique_lock lock(mutex);
        claim_wake.wait_for(lock, std::chrono::seconds(1), [&] { return stopping; });
        work_hint = true;
      }
    }
  }

  // Records what finishes until stopping and nothing is in flight any more (each attempt ends
  // within its timeout).
  void record_loop() {
    while (true) {
      std::deque<std::pair<Job, outbound::Response>> batch;
      {
        std::unique_lock lock(mutex);
        record_wake.wait(lock, [&] { return !done.empty() || (claimer_done && in_flight == 0); });
        if (done.empty()) return;
        batch.swap(done);
      }
      record_all(batch);
      wake_claimer();
    }
  }

  std::size_t claim_and_send(std::size_t limit) {
    auto rows = db::with_tx(db, [&](db::Tx& tx) {
      tx.exec(kAsyncCommit);
      return tx.exec(kClaim, options.worker_id, static_cast<int>(limit),
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

  void finished(Job job, outbound::Response response) {
    {
      std::lock_guard lock(mutex);
      done.emplace_back(std::move(job), std::move(response));
    }
    record_wake.notify_one();
  }

  void send(Job job) {
    outbound::Request request;
    try {
      request = request_for(job, options.timeout);
    } catch (const std::exception& e) {
      outbound::Response refused;
      refused.error = std::string("cannot sign: ") + e.what();
      finished(std::move(job), std::move(refused));
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
      record_wake.notify_one();
    });
    if (!queued) {
      outbound::Response full;
      full.error = "the outbound queue is full";
      {
        std::lock_guard lock(mutex);
        --in_flight;
      }
      finished(std::move(*shared), std::move(full));
    }
  }

  // The finished attempts, kRecordBatch to a statement and a transaction, in the order of their
  // subscriptions (two daemons' batches then lock subscription rows in one order). Should a
  // batch fail, its attempts are recorded one by one; one that cannot be recorded is left to its
  // lease, after which it is sent again (at least once).
  void record_all(std::deque<std::pair<Job, outbound::Response>>& batch) {
    std::vector<Settled> all;
    all.reserve(batch.size());
    for (auto& [job, response] : batch) all.push_back(settle(std::move(job), std::move(response)));
    std::sort(all.begin(), all.end(), [](const Settled& a, const Settled& b) {
      return std::tie(a.job.subscription_id, a.job.delivery_id) <
             std::tie(b.job.subscription_id, b.job.delivery_id);
    });
    for (std::size_t from = 0; from < all.size(); from += kRecordBatch) {
      const std::size_t to = std::min(all.size(), from + kRecordBatch);
      try {
        auto outcomes = db::with_tx(db, [&](db::Tx& tx) { return record_in(tx, all, from, to); });
        for (std::size_t i = from; i < to; ++i) count(outcomes[i - from], all[i].job);
      } catch (const std::exception& e) {
        for (std::size_t i = from; i < to; ++i) {
          try {
            auto outcome =
                db::with_tx(db, [&](db::Tx& tx) { return record_in(tx, all, i, i + 1); });
            count(outcome.front(), all[i].job);
          } catch (const std::exception& one) {
            spdlog::warn(R"("msg":"webhooks.record_failed","delivery":{},{})",
                         all[i].job.delivery_id, db::error_log_fields(one));
          }
        }
      }
    }
  }

  /// What an attempt's outcome means for its delivery and subscription.
  struct Settled {
    Job job;
    outbound::Response response;
    std::string error;
    std::optional<std::int64_t> retry_ms;  ///< when to try again; none: the delivery failed
    int breaker = 0;                       ///< 0: the breaker ignores this attempt
    std::string disable_reason;            ///< disable the subscription now
  };

  Settled settle(Job job, outbound::Response response) {
    Settled s{std::move(job), std::move(response), {}, std::nullopt, 0, {}};
    const auto& r = s.response;
    s.response.body = utf8::storable(r.body, kKeptBody);
    if (r.ok()) return s;
    s.error = r.error.empty() && r.status != 0 ? "answered " + std::to_string(r.status) : r.error;
    if (!s.job.counts_for_breaker) return s;  // a test send: never retried, never counted
    if (r.status == 410) {
      s.disable_reason = "the endpoint answered 410 Gone";
      return s;
    }
    if (header_of(r, kDeliveryHeader) == "abort-message") {
      // The receiver asked for no more attempts at this message: it failed, and the endpoint
      // is alive, so the breaker does not count it.
      s.error += " (the receiver aborted the message)";
      return s;
    }
    s.breaker = options.breaker_threshold;
    auto wait = outbound::next_retry(options.schedule, s.job.failures + 1, r.retry_after);
    if (wait) s.retry_ms = wait->count();
    return s;
  }

  // Successes in one call of webhook_delivered, the others in one statement of webhook_record
  // calls; then the disabling a 410 asks for.
  std::vector<std::string> record_in(db::Tx& tx, std::vector<Settled>& all, std::size_t from,
                                     std::size_t to) {
    tx.exec(kAsyncCommit);
    std::vector<std::string> outcomes(to - from);
    std::vector<std::size_t> ok, other;
    for (std::size_t i = from; i < to; ++i)
      (all[i].response.ok() && all[i].job.counts_for_breaker ? ok : other).push_back(i);
    if (!ok.empty()) {
      std::vector<std::int64_t> ids;
      std::vector<int> attempts, statuses, durations;
      std::vector<std::string> workers, bodies;
      for (auto i : ok) {
        ids.push_back(all[i].job.delivery_id);
        workers.push_back(all[i].job.worker);
        attempts.push_back(all[i].job.attempt);
        statuses.push_back(all[i].response.status);
        durations.push_back(static_cast<int>(all[i].response.duration.count()));
        bodies.push_back(all[i].response.body);
      }
      for (const auto& r :
           tx.exec(kDelivered, db::array_literal(ids), db::text_array_literal(workers),
                   db::array_literal(attempts), db::array_literal(statuses),
                   db::array_literal(durations), db::text_array_literal(bodies)))
        outcomes[ok[r[0].as<std::size_t>() - 1] - from] = r[1].as<std::string>();
    }
    if (!other.empty()) {
      std::vector<std::int64_t> ids;
      std::vector<int> attempts, statuses, durations, breakers;
      std::vector<std::string> workers, errors, bodies, retries;
      for (auto i : other) {
        const auto& s = all[i];
        ids.push_back(s.job.delivery_id);
        workers.push_back(s.job.worker);
        attempts.push_back(s.job.attempt);
        statuses.push_back(s.response.status);
        errors.push_back(s.error);
        durations.push_back(static_cast<int>(s.response.duration.count()));
        bodies.push_back(s.response.body);
        retries.push_back(s.retry_ms ? std::to_string(*s.retry_ms) : "NULL");
        breakers.push_back(s.breaker);
      }
      for (const auto& r :
           tx.exec(kRecordMany, db::array_literal(ids), db::text_array_literal(workers),
                   db::array_literal(attempts), db::array_literal(statuses),
                   db::text_array_literal(errors), db::array_literal(durations),
                   db::text_array_literal(bodies), db::array_literal(retries),
                   db::array_literal(breakers), static_cast<int>(options.breaker_cooldown.count()),
                   static_cast<int>(options.disable_after.count())))
        outcomes[other[r[0].as<std::size_t>() - 1] - from] = r[1].as<std::string>();
    }
    for (auto i : other) {
      auto& outcome = outcomes[i - from];
      if (all[i].disable_reason.empty() || outcome == "stale") continue;
      if (tx.exec1(kDisable, all[i].job.delivery_id, all[i].disable_reason)[0].as<bool>())
        outcome = "disabled";
    }
    return outcomes;
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
  if (impl_->claimer.joinable()) return;
  impl_->recorder = std::thread([this] { impl_->record_loop(); });
  impl_->listener = std::thread([this] { impl_->listen(); });
  impl_->claimer = std::thread([this] { impl_->claim_loop(); });
}

void Dispatcher::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->claim_wake.notify_all();
  impl_->record_wake.notify_all();
  // The claimer first: then nothing more is sent, and the recorder ends with the last attempt.
  if (impl_->claimer.joinable()) impl_->claimer.join();
  {
    std::lock_guard lock(impl_->mutex);
    impl_->claimer_done = true;
  }
  impl_->record_wake.notify_all();
  if (impl_->listener.joinable()) impl_->listener.join();
  if (impl_->recorder.joinable()) impl_->recorder.join();
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
  std::vector<Impl::Settled> settled;
  settled.push_back(impl_->settle(std::move(job), std::move(response)));
  db::with_tx(impl_->db, [&](db::Tx& tx) { return impl_->record_in(tx, settled, 0, 1); });
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
