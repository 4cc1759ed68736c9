#pragma once
// A raw TCP client for what an HTTP library will not send: trickled heads, huge or malformed
// requests, connections from chosen loopback addresses (127.0.0.0/8 is all loopback on Linux).

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace loyalty::test {

/// A parsed HTTP/1.1 response.
struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
};

class RawConnection {
 public:
  /// Connects to 127.0.0.1:port from `source` (another loopback address such as 127.0.0.7, or
  /// empty for the default). Throws std::runtime_error when the connection cannot be made.
  explicit RawConnection(int port, const std::string& source = "");
  ~RawConnection();
  RawConnection(RawConnection&& other) noexcept;
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  /// Sends all of `bytes`; false once the peer has closed or reset the connection.
  bool send(const std::string& bytes);
  /// Reads one response (head and Content-Length body) within `timeout`; nullopt if the
  /// connection closed or the time ran out before a whole response arrived. An interim
  /// 100 Continue is skipped unless `interim` is set.
  std::optional<RawResponse> read_response(std::chrono::milliseconds timeout, bool interim = false);
  /// Whether the peer closes the connection within `timeout` (end of stream or reset), reading
  /// and discarding whatever arrives before.
  bool closed_by_peer(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  std::string pending_;
};

/// The resident set size of a process in KiB (VmRSS of /proc/PID/status).
long rss_kib(int pid);

}  // namespace loyalty::test
