#pragma once
// A threaded HTTP/1.1 receiver on 127.0.0.1 for outbound tests (webhook deliveries, the
// outbound client): one thread per connection, one request per connection (every answer says
// Connection: close), and counters of what it saw.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace loyalty::test {

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
};

struct ReceiverReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Never answer: keep the connection open until the client closes it or the receiver stops.
  bool hold = false;
};

class Receiver {
 public:
  using Handler = std::function<ReceiverReply(const ReceivedRequest&)>;

  /// Listens on 127.0.0.1 on a free port; without a handler every request is answered 200 "ok".
  /// Throws std::runtime_error when it cannot listen.
  explicit Receiver(Handler handler = {});
  /// Stops listening, ends held requests and joins every thread.
  ~Receiver();
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  int port() const { return port_; }
  /// "http://127.0.0.1:PORT" + path.
  std::string url(const std::string& path = "/") const;

  /// While closed, every request that arrives waits (counted as in progress) until open_gate().
  void close_gate();
  void open_gate();

  int connections() const { return connections_; }
  /// Requests read and not yet answered, now and at most so far.
  int in_progress() const { return in_progress_; }
  int max_in_progress() const { return max_in_progress_; }
  std::vector<ReceivedRequest> requests() const;

  /// Waits until `count` requests are in progress at once; false if `timeout` passes first.
  bool wait_for_in_progress(int count, std::chrono::milliseconds timeout) const;

 private:
  void accept_loop();
  void serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> in_progress_{0};
  std::atomic<int> max_in_progress_{0};

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool gate_closed_ = false;
  std::vector<ReceivedRequest> requests_;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace loyalty::test
