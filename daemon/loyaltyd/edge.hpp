#pragma once
// The daemon's network edge: it accepts connections, reads each request whole under a deadline
// and within every size limit, and only then hands it to a pool of handler threads. A slow or
// idle client costs a socket and a few kilobytes, never a thread (Boost.Beast underneath).

#include "http.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace loyaltyd {

/// Adds the pairs of an application/x-www-form-urlencoded text (a query string, or a form
/// body) to `out`, percent-decoded, '+' as a space.
void parse_query(std::string_view query, std::multimap<std::string, std::string>& out);

/// What a client may cost the daemon before a handler sees its request.
struct EdgeLimits {
  std::chrono::milliseconds request_timeout{10000};    ///< head and body, from the first byte
  std::chrono::milliseconds keep_alive_timeout{5000};  ///< wait for a request to begin
  std::chrono::milliseconds write_timeout{10000};      ///< to write one response
  std::size_t max_connections = 10000;                 ///< open at once, in total
  std::size_t max_connections_per_ip = 128;            ///< open at once, per client address
  std::size_t max_body = 1 << 20;  ///< decoded body: after chunking and Content-Encoding
  /// Paths whose bodies may be larger than max_body (Meta's webhooks carry up to 3 MB).
  std::vector<std::pair<std::string, std::size_t>> large_bodies;
  std::size_t max_target = 8192;        ///< request target → 414
  std::size_t max_header_bytes = 8192;  ///< all header fields together → 431
  std::size_t max_header_fields = 100;  ///< → 431
  std::size_t max_requests_per_connection = 1000;
  int handler_threads = 32;
  std::size_t max_queued = 1024;  ///< requests waiting for a handler thread; beyond it, 503
};

/// Counters of the edge, for /metrics.
struct EdgeStats {
  std::atomic<long long> open_connections{0};
  std::atomic<unsigned long long> accepted{0};
  std::atomic<unsigned long long> refused{0};    ///< over a connection cap
  std::atomic<unsigned long long> timed_out{0};  ///< request deadline or idle timeout passed
  std::atomic<unsigned long long> rejected{0};   ///< answered 400/408/413/414/415/431/503 here
};

class Edge {
 public:
  /// Runs on a handler thread with a complete, decoded request; never throws.
  using Handle = std::function<Reply(HttpRequest&)>;

  Edge(EdgeLimits limits, Handle handle);
  ~Edge();
  Edge(const Edge&) = delete;
  Edge& operator=(const Edge&) = delete;

  /// Binds host:port (port 0 picks a free one); returns the bound port, or -1 on failure.
  int bind(const std::string& host, int port);
  /// Serves until stop(): then stops accepting, closes idle connections, lets requests in
  /// flight finish and be answered, and returns.
  void serve();
  /// Thread-safe; may be called from a signal-handling thread.
  void stop();

  const EdgeStats& stats() const;

  struct Impl;  ///< defined in edge.cpp, with the connections it serves

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace loyaltyd
