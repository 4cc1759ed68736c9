#pragma once
// The notice sender: threads that take due notifications from the shared queue (the
// `notifications` table, claimed across tenants under a lease), compose each (notices/compose),
// send it through the Graph API and record the outcome in its tenant's transaction: sent (with
// the wamid that status webhooks will name), retried later with backoff on 5xx, 429 and
// timeouts, sent again as a template when Meta says the 24-hour window has closed, or failed —
// with Meta's error code — for good. Once a notification is sent or has failed, its PIN and
// recipient are erased. Any number of senders, in any number of daemons, share one queue.

#include <loyalty/outbound/retry.hpp>
#include <loyalty/whatsapp/graph_client.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace loyalty::db {
class Database;
}
namespace loyalty::config {
struct Settings;
}

namespace loyalty::notices {

struct SenderOptions {
  int threads = 2;
  int batch = 8;  ///< notifications claimed per round trip by one thread
  std::chrono::seconds lease{60};
  std::chrono::milliseconds idle_poll{200};
  /// Waits after failed attempts; past the last one the notification has failed.
  outbound::RetrySchedule retry = outbound::RetrySchedule::parse("5s,1m,5m,30m,2h,6h");
  whatsapp::GraphOptions graph;
  /// The Graph API token of numbers whose route names no access_token_file
  /// (--whatsapp-access-token).
  std::string default_access_token;
};

/// The daemon's: the Graph API at --whatsapp-api-base (the operator's own configuration, so
/// any scheme and address it names is allowed; --outbound-resolve applies), the default token
/// --whatsapp-access-token, threads as --workers.
SenderOptions sender_options(const config::Settings& settings);

struct SenderStats {
  long long sent = 0;
  long long retried = 0;
  long long failed = 0;
  long long cancelled = 0;
  long long errors = 0;  ///< claims or records that failed (the database unreachable)
};

class Sender {
 public:
  Sender(db::Database& db, SenderOptions options);
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  void start();
  /// Lets sends in flight finish and be recorded; claimed rows not yet sent come due again
  /// when their lease ends. Safe to call more than once.
  void stop();
  SenderStats stats() const;

 private:
  struct State;
  void run();
  void deliver(const std::string& tenant_id, const std::string& id, int attempt);

  db::Database& db_;
  SenderOptions options_;
  std::unique_ptr<whatsapp::GraphClient> graph_;
  std::unique_ptr<State> state_;
  std::vector<std::thread> threads_;
};

}  // namespace loyalty::notices
