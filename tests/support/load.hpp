#pragma once
// Load for crash and outage tests: a few client threads posting purchase events to loyaltyd,
// each with its own Idempotency-Key, recording what every attempt was answered.

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace loyalty::db {
class Database;
}

namespace loyalty::test {

/// A tenant whose purchases do real work: a POS key, a budget far larger than the test can use,
/// a $1 generated voucher for purchases of $50 or more (reserved from the budget, issued by the
/// worker) and 10 points for every purchase.
struct LoadTenant {
  std::string tenant_id;
  std::string api_key;
};
LoadTenant seed_load_tenant(db::Database& owner, const std::string& slug);

/// One HTTP attempt of a posted event.
struct Attempt {
  int status = 0;            ///< 0: no answer (refused, reset, or no reply before the timeout)
  std::string content_type;  ///< of the answer
  std::string problem_type;  ///< `type` of a problem+json answer
  std::chrono::steady_clock::time_point sent;
  std::chrono::milliseconds took{0};
};

/// An event a client posted, and what became of it.
struct PostedEvent {
  std::string key;
  bool acknowledged = false;  ///< some attempt got a 2xx answer
  bool replayed = false;      ///< that answer was a replay (Idempotent-Replayed: true)
  std::string event_id;       ///< from the acknowledging answer
  std::vector<Attempt> attempts;
};

struct LoadOptions {
  std::string tenant_id;
  std::string api_key;
  int threads = 4;
  /// Clients whose index is below this retry an unacknowledged event with the same key and body
  /// until it is acknowledged (as a till does); the others give it up and post the next one.
  int retrying_threads = 2;
  std::chrono::milliseconds pause_after_failure{50};
  int read_timeout_seconds = 20;
  int customers = 40;  ///< phone numbers the events are spread over
};

/// Starts the client threads at once; `port` is asked before every attempt (a restarted daemon
/// listens on another port).
class EventLoad {
 public:
  EventLoad(std::function<int()> port, LoadOptions options);
  ~EventLoad();
  EventLoad(const EventLoad&) = delete;
  EventLoad& operator=(const EventLoad&) = delete;

  /// Stops the clients after their current attempt (a retrying client stops retrying too).
  void stop();
  /// Every event posted, after stop().
  const std::vector<PostedEvent>& events() const { return events_; }
  /// Events acknowledged so far.
  long long acknowledged() const { return acknowledged_.load(); }
  /// Attempts answered so far (any status).
  long long answered() const { return answered_.load(); }

 private:
  void run(int index);

  std::function<int()> port_;
  LoadOptions options_;
  std::atomic<bool> stopping_{false};
  std::atomic<long long> acknowledged_{0}, answered_{0};
  std::mutex mutex_;
  std::vector<PostedEvent> events_;
  std::vector<std::thread> threads_;
};

}  // namespace loyalty::test
