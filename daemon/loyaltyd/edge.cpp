// The network edge (see edge.hpp). One I/O thread runs every socket asynchronously; a request
// reaches the handler pool only once it is complete, so slowness and size are paid for here, in
// bounded memory, and never in handler threads.
#include "edge.hpp"

#include <loyalty/core/compression.hpp>
#include <loyalty/core/form.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace loyaltyd {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

bool CaseInsensitiveLess::operator()(const std::string& a, const std::string& b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) <
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::string HttpRequest::get_header_value(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::string HttpRequest::get_param_value(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

namespace {

/// Handler threads with a bounded queue: a request that finds it full is refused at once.
class HandlerPool {
 public:
  HandlerPool(int threads, std::size_t max_queued)
      : threads_wanted_(std::max(1, threads)), max_queued_(max_queued) {}
  ~HandlerPool() { stop_and_join(); }

  void start() {
    for (int i = 0; i < threads_wanted_; ++i) threads_.emplace_back([this] { run(); });
  }
  bool try_submit(std::function<void()> task) {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(task));
    ready_.notify_one();
    return true;
  }
  /// Runs what is queued, then joins.
  void stop_and_join() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void run() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  int threads_wanted_;
  std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

class Session;

}  // namespace

void parse_query(std::string_view query, std::multimap<std::string, std::string>& out) {
  for (auto& [key, value] : loyalty::form_decode(query))
    out.emplace(std::move(key), std::move(value));
}

struct Edge::Impl {
  Impl(EdgeLimits l, Handle h)
      : limits(l), handle(std::move(h)), pool(l.handler_threads, l.max_queued) {}

  /// Counts a new connection of `ip`; false when a cap is reached.
  bool admit(const std::string& ip) {
    std::lock_guard lock(connections_mutex);
    if (open_total >= limits.max_connections) return false;
    auto& n = open_per_ip[ip];
    if (n >= limits.max_connections_per_ip) {
      if (n == 0) open_per_ip.erase(ip);
      return false;
    }
    ++n;
    ++open_total;
    stats.open_connections = static_cast<long long>(open_total);
    return true;
  }
  void release(const std::string& ip) {
    std::lock_guard lock(connections_mutex);
    auto it = open_per_ip.find(ip);
    if (it != open_per_ip.end() && --it->second == 0) open_per_ip.erase(it);
    --open_total;
    stats.open_connections = static_cast<long long>(open_total);
  }
  void track(Session* session, std::weak_ptr<Session> weak) {
    std::lock_guard lock(connections_mutex);
    sessions.emplace(session, std::move(weak));
  }
  void untrack(Session* session) {
    std::lock_guard lock(connections_mutex);
    sessions.erase(session);
  }

  void accept();
  void refuse(tcp::socket& socket);

  EdgeLimits limits;
  Handle handle;
  net::io_context io{1};
  tcp::acceptor acceptor{io};
  net::steady_timer accept_pause{io};
  HandlerPool pool;
  EdgeStats stats;
  std::atomic<bool> stopping{false};

  std::mutex connections_mutex;
  std::size_t open_total = 0;
  std::unordered_map<std::string, std::size_t> open_per_ip;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
};

namespace {

/// One client connection: wait for a request, read it whole under the deadline, hand it to a
/// handler thread, write the answer, and again while keep-alive lasts.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Edge::Impl& edge, tcp::socket socket, std::string ip)
      : edge_(edge), stream_(std::move(socket)), ip_(std::move(ip)) {}
  ~Session() {
    edge_.untrack(this);
    edge_.release(ip_);
  }

  void start() {
    edge_.track(this, weak_from_this());
    wait_for_request();
  }

  /// On stop: a connection between requests is closed; one mid-request finishes first.
  void close_if_idle() {
    beast::error_code ignored;
    if (idle_) stream_.socket().close(ignored);
  }
  auto executor() { return stream_.get_executor(); }

 private:
  using Parser = http::request_parser<http::string_body>;

  void wait_for_request() {
    idle_ = true;
    if (edge_.stopping) return;
    if (buffer_.size() > 0) return begin_request();  // pipelined: the next one is here already
    stream_.expires_after(edge_.limits.keep_alive_timeout);
    stream_.async_read_some(
        buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
          self->buffer_.commit(n);
          if (ec) {
            if (ec == beast::error::timeout) ++self->edge_.stats.timed_out;
            return;  // idle too long, closed by the client, or stopping: nothing to answer
          }
          self->begin_request();
        });
  }

  void begin_request() {
    idle_ = false;
    deadline_ = std::chrono::steady_clock::now() + edge_.limits.request_timeout;
    parser_.emplace();
    parser_->header_limit(
        static_cast<std::uint32_t>(edge_.limits.max_target + edge_.limits.max_header_bytes + 1024));
    body_limit_ = edge_.limits.max_body;
    parser_->body_limit(body_limit_);
    stream_.expires_at(deadline_);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    const auto& head = parser_->get();
    if (head.target().size() > edge_.limits.max_target) {
      return reject(414, "uri-too-long", "the request target is longer than 8 KiB");
    }
    std::size_t fields = 0, bytes = 0;
    for (const auto& field : head) {
      ++fields;
      bytes += field.name_string().size() + field.value().size() + 4;
    }
    if (fields > edge_.limits.max_header_fields || bytes > edge_.limits.max_header_bytes) {
      return reject(431, "headers-too-large",
                    "the request has more than 100 header fields or more than 8 KiB of them");
    }
    const std::string_view target(head.target().data(), head.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    for (const auto& [large, limit] : edge_.limits.large_bodies) {
      if (path == large) body_limit_ = std::max(body_limit_, limit);
    }
    parser_->body_limit(body_limit_);
    coding_ = loyalty::parse_content_coding(std::string(head[http::field::content_encoding]));
    if (!coding_) {
      return reject(415, "unsupported-content-encoding",
                    "Content-Encoding must be gzip, deflate, br or identity");
    }
    if (beast::iequals(head[http::field::expect], "100-continue")) {
      auto interim = std::make_shared<std::string>("HTTP/1.1 100 Continue\r\n\r\n");
      net::async_write(stream_, net::buffer(*interim),
                       [self = shared_from_this(), interim](beast::error_code e, std::size_t) {
                         if (e) return self->on_read_error(e);
                         self->read_body();
                       });
      return;
    }
    read_body();
  }

  void read_body() {
    stream_.expires_at(deadline_);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return reject(413, "payload-too-large", body_too_large());
    }
    if (ec == http::error::header_limit) {
      // Which part overflowed: the parser has a target once it has read the request line.
      if (parser_->get().target().empty()) {
        return reject(414, "uri-too-long", "the request target is longer than 8 KiB");
      }
      return reject(431, "headers-too-large",
                    "the request has more than 100 header fields or more than 8 KiB of them");
    }
    if (ec == beast::error::timeout) {
      ++edge_.stats.timed_out;  // the deadline passed: the socket is already closed
      return;
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted) {
      return;
    }
    reject(400, "bad-request", "the request could not be read as HTTP/1.1");
  }

  void on_body(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    stream_.expires_never();
    auto request = std::make_shared<HttpRequest>();
    auto& message = parser_->get();
    request->method = std::string(message.method_string());
    request->target = std::string(message.target());
    std::string_view target = message.target();
    auto question = target.find('?');
    request->path = loyalty::percent_decode(target.substr(0, question), false);
    if (question != std::string_view::npos)
      parse_query(target.substr(question + 1), request->params);
    for (const auto& field : message) {
      request->headers.emplace(std::string(field.name_string()), std::string(field.value()));
    }
    request->body = std::move(message.body());
    request->remote_addr = ip_;
    keep_alive_ = message.keep_alive();
    parser_.reset();

    // The I/O loop must outlive the handler, which posts its answer back to it.
    auto work = std::make_shared<net::executor_work_guard<net::io_context::executor_type>>(
        edge_.io.get_executor());
    bool queued = edge_.pool.try_submit(
        [self = shared_from_this(), request, coding = *coding_, work, limit = body_limit_] {
          Reply reply;
          bool close = false;
          try {
            // An identity body is already within the limit (the parser counted it): no copy.
            std::optional<std::string> decoded;
            if (coding != loyalty::ContentCoding::identity) {
              decoded = loyalty::decode_bounded(coding, request->body, limit);
            }
            if (coding != loyalty::ContentCoding::identity && !decoded) {
              ++self->edge_.stats.rejected;
              reply = problem(413, "payload-too-large", "",
                              "the decoded " + self->body_too_large().substr(4), "");
              close = true;
            } else {
              if (decoded) request->body = std::move(*decoded);
              reply = self->edge_.handle(*request);
            }
          } catch (const loyalty::Error& e) {
            ++self->edge_.stats.rejected;
            reply = problem(400, "malformed-request", "", e.what(), "");
          }
          net::post(self->stream_.get_executor(),
                    [self, reply = std::move(reply), close, work]() mutable {
                      self->write(std::move(reply), close);
                    });
        });
    if (!queued) {
      ++edge_.stats.rejected;
      Reply busy = problem(503, "overloaded", "", "the server is busy; retry in a moment", "");
      busy.headers.emplace_back("Retry-After", "1");
      write(std::move(busy), true);
    }
  }

  /// "the request body is larger than 1 MiB" (or its path's limit).
  std::string body_too_large() const {
    return body_limit_ % (1 << 20) == 0
               ? fmt::format("the request body is larger than {} MiB", body_limit_ >> 20)
               : fmt::format("the request body is larger than {} bytes", body_limit_);
  }

  void reject(int status, const std::string& type, const std::string& detail) {
    ++edge_.stats.rejected;
    keep_alive_ = false;
    write(problem(status, type, "", detail, ""), true);
  }

  void write(Reply reply, bool close) {
    ++served_;
    bool keep = keep_alive_ && !close && !edge_.stopping &&
                served_ < edge_.limits.max_requests_per_connection;
    auto response = std::make_shared<http::response<http::string_body>>();
    response->version(11);
    response->result(static_cast<unsigned>(reply.status));
    for (auto& [name, value] : reply.headers) response->insert(name, value);
    response->set(http::field::content_type, reply.content_type);
    response->body() = std::move(reply.body);
    response->keep_alive(keep);
    response->prepare_payload();
    stream_.expires_after(edge_.limits.write_timeout);
    http::async_write(
        stream_, *response,
        [self = shared_from_this(), response, keep](beast::error_code ec, std::size_t) {
          if (ec) return;
          if (keep) return self->wait_for_request();
          self->linger();
        });
  }

  /// Closes after an answer: the client may still be sending a body we refused, and closing
  /// with unread bytes resets the connection before it reads the answer. So: stop sending, and
  /// discard what still arrives for a moment.
  void linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));
    drain();
  }
  void drain() {
    if (drained_ > body_limit_ * 2) return;
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(16384),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (!ec) self->drain();
                            });
  }

  Edge::Impl& edge_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  std::optional<loyalty::ContentCoding> coding_;
  std::size_t body_limit_ = 0;  ///< of the request being read: max_body or its path's
  std::chrono::steady_clock::time_point deadline_;
  std::string ip_;
  std::size_t served_ = 0;
  std::size_t drained_ = 0;
  bool keep_alive_ = true;
  bool idle_ = true;
};

}  // namespace

void Edge::Impl::refuse(tcp::socket& socket) {
  ++stats.refused;
  // Refused at once, without queueing: a short answer the socket buffer takes whole.
  static const std::string kRefusal = [] {
    Reply reply =
        problem(503, "too-many-connections", "", "too many open connections; retry later", "");
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: " + reply.content_type +
           "\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: " +
           std::to_string(reply.body.size()) + "\r\n\r\n" + reply.body;
  }();
  beast::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(net::buffer(kRefusal), ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

void Edge::Impl::accept() {
  acceptor.async_accept(net::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    if (stopping || !acceptor.is_open()) return;
    if (ec) {
      // Out of file descriptors, most likely: pause instead of spinning on the error.
      spdlog::warn(R"("msg":"http.accept_failed","error":{})", nlohmann::json(ec.message()).dump());
      accept_pause.expires_after(std::chrono::milliseconds(100));
      accept_pause.async_wait([this](beast::error_code) { accept(); });
      return;
    }
    ++stats.accepted;
    beast::error_code addr_ec;
    auto endpoint = socket.remote_endpoint(addr_ec);
    std::string ip = addr_ec ? std::string("unknown") : endpoint.address().to_string();
    if (!admit(ip)) {
      refuse(socket);
    } else {
      socket.set_option(tcp::no_delay(true), addr_ec);
      std::make_shared<Session>(*this, std::move(socket), std::move(ip))->start();
    }
    accept();
  });
}

Edge::Edge(EdgeLimits limits, Handle handle)
    : impl_(std::make_unique<Impl>(limits, std::move(handle))) {}

Edge::~Edge() = default;

int Edge::bind(const std::string& host, int port) {
  beast::error_code ec;
  auto address = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return -1;
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return -1;
  return acceptor.local_endpoint().port();
}

void Edge::serve() {
  impl_->pool.start();
  impl_->accept();
  impl_->io.run();
  impl_->pool.stop_and_join();
}

void Edge::stop() {
  net::post(impl_->io, [impl = impl_.get()] {
    impl->stopping = true;
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    impl->accept_pause.cancel();
    std::vector<std::shared_ptr<Session>> open;
    {
      std::lock_guard lock(impl->connections_mutex);
      for (auto& [raw, weak] : impl->sessions) {
        if (auto session = weak.lock()) open.push_back(std::move(session));
      }
    }
    for (auto& session : open) {
      net::post(session->executor(), [session] { session->close_if_idle(); });
    }
  });
}

const EdgeStats& Edge::stats() const { return impl_->stats; }

}  // namespace loyaltyd
