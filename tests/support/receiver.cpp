#include "support/receiver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

namespace loyalty::test {

namespace {

constexpr auto kReadTimeout = std::chrono::seconds(10);

std::string lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

/// Appends what arrives within the time left; false on end of stream, error or time out.
bool read_more(int fd, std::string& into, std::chrono::steady_clock::time_point until) {
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    char buffer[65536];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    into.append(buffer, static_cast<std::size_t>(n));
    return true;
  }
}

bool send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

bool read_request(int fd, ReceivedRequest& request) {
  const auto until = std::chrono::steady_clock::now() + kReadTimeout;
  std::string data;
  std::size_t head_end;
  while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
    if (!read_more(fd, data, until)) return false;
  }
  const std::string head = data.substr(0, head_end);
  const auto line_end = head.find("\r\n");
  const std::string request_line = head.substr(0, line_end);
  const auto space1 = request_line.find(' ');
  const auto space2 = request_line.find(' ', space1 + 1);
  if (space1 == std::string::npos || space2 == std::string::npos) return false;
  request.method = request_line.substr(0, space1);
  request.target = request_line.substr(space1 + 1, space2 - space1 - 1);
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    const std::string line = head.substr(pos, end - pos);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      request.headers[lower(line.substr(0, colon))] = value;
    }
    pos = end + 2;
  }
  std::size_t length = 0;
  if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
    length = std::stoul(it->second);
  }
  const std::size_t body_start = head_end + 4;
  while (data.size() < body_start + length) {
    if (!read_more(fd, data, until)) return false;
  }
  request.body = data.substr(body_start, length);
  return true;
}

/// Whether the peer has closed its end (a client that gave up on a held request).
bool peer_closed(int fd) {
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
  char byte;
  return ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

}  // namespace

Receiver::Receiver(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("receiver: socket() failed");
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = 0;
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  socklen_t length = sizeof address;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 128) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("receiver: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

Receiver::~Receiver() {
  stopping_ = true;
  {
    std::lock_guard lock(mutex_);
    gate_closed_ = false;
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  changed_.notify_all();
  acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(threads_);
  }
  for (auto& thread : threads) thread.join();
  ::close(listen_fd_);
}

std::string Receiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void Receiver::close_gate() {
  std::lock_guard lock(mutex_);
  gate_closed_ = true;
}

void Receiver::open_gate() {
  {
    std::lock_guard lock(mutex_);
    gate_closed_ = false;
  }
  changed_.notify_all();
}

std::vector<ReceivedRequest> Receiver::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

bool Receiver::wait_for_in_progress(int count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return in_progress_ >= count; });
}

void Receiver::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++connections_;
    std::lock_guard lock(mutex_);
    if (stopping_) {
      ::close(fd);
      break;
    }
    open_fds_.push_back(fd);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

void Receiver::serve(int fd) {
  ReceivedRequest request;
  if (read_request(fd, request)) {
    {
      std::unique_lock lock(mutex_);
      requests_.push_back(request);
      const int now = ++in_progress_;
      int seen = max_in_progress_;
      while (now > seen && !max_in_progress_.compare_exchange_weak(seen, now)) {
      }
      changed_.notify_all();
      changed_.wait(lock, [&] { return !gate_closed_ || stopping_; });
    }
    ReceiverReply reply = handler_ ? handler_(request) : ReceiverReply{200, {}, "ok", false};
    if (reply.hold) {
      std::unique_lock lock(mutex_);
      while (!stopping_ && !peer_closed(fd)) {
        changed_.wait_for(lock, std::chrono::milliseconds(20));
      }
    }
    // Counted as answered before the answer leaves, so a client that starts its next request
    // on receiving this one can never be seen running alongside it.
    --in_progress_;
    changed_.notify_all();
    if (!reply.hold && !stopping_) {
      std::string head = "HTTP/1.1 " + std::to_string(reply.status) + " Reply\r\n";
      head += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
      head += "Connection: close\r\n";
      for (const auto& [name, value] : reply.headers) head += name + ": " + value + "\r\n";
      head += "\r\n";
      send_all(fd, head + reply.body);
    }
  }
  std::lock_guard lock(mutex_);
  open_fds_.erase(std::find(open_fds_.begin(), open_fds_.end(), fd));
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

}  // namespace loyalty::test
