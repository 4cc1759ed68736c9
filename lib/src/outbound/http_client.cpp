#include <loyalty/outbound/http_client.hpp>

#include "outbound/curl_support.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/log/log.hpp>

#include <curl/curl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace loyalty::outbound {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kMaxHeaders = 100;
constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
constexpr int kIdlePollMs = 1000;

struct EasyCleanup {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct SlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using EasyHandle = std::unique_ptr<CURL, EasyCleanup>;
using Slist = std::unique_ptr<curl_slist, SlistFree>;

/// "10 s", "0.5 s".
std::string seconds_text(milliseconds duration) {
  return fmt::format("{:g} s", static_cast<double>(duration.count()) / 1000.0);
}

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool is_header_value(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

/// Retry-After in its delay-seconds form; -1 for anything else (an HTTP date is not read).
std::int64_t retry_after_seconds(std::string_view value) {
  if (value.empty() || value.size() > 12) return -1;
  std::int64_t seconds = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return -1;
    seconds = seconds * 10 + (c - '0');
  }
  return seconds;
}

/// One request from submit() to its `done`.
struct Transfer {
  Request request;
  std::function<void(Response)> done;
  std::string destination;
  std::string origin;   ///< scheme://host:port, the only part of the URL that is logged
  std::string invalid;  ///< why the request cannot be sent at all, when it cannot
  std::size_t keep_body_bytes = 0;
  bool allow_private = false;
  bool allow_http = false;

  EasyHandle easy;
  Slist headers;
  Clock::time_point started;
  Response response;
  std::size_t header_bytes = 0;
  std::optional<std::string> refusal;  ///< set by the socket callback when it refused an address
  char error_buffer[CURL_ERROR_SIZE] = {};
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  std::string& body = transfer->response.body;
  if (body.size() < transfer->keep_body_bytes) {
    body.append(data, std::min(bytes, transfer->keep_body_bytes - body.size()));
  }
  return bytes;  // the rest is read and dropped, so the connection ends normally
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  const std::string_view line(data, bytes);
  Response& response = transfer->response;
  if (line.rfind("HTTP/", 0) == 0) {
    // A status line starts a new answer (after a 100 Continue, say): keep only the last one's.
    response.headers.clear();
    response.retry_after = -1;
    transfer->header_bytes = 0;
    return bytes;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0 || line.front() == ' ' ||
      line.front() == '\t') {
    return bytes;  // the blank line that ends the head, or a folded continuation
  }
  std::string name = detail::lower(line.substr(0, colon));
  const std::string_view value = trim(line.substr(colon + 1));
  if (name == "retry-after") response.retry_after = retry_after_seconds(value);
  if (response.headers.size() < kMaxHeaders &&
      transfer->header_bytes + name.size() + value.size() <= kMaxHeaderBytes) {
    transfer->header_bytes += name.size() + value.size();
    response.headers.emplace_back(std::move(name), std::string(value));
  }
  return bytes;
}

// Every connection libcurl makes is opened here, with the address it is about to connect to:
// whatever DNS answered, and however often, only a vetted address is ever connected.
curl_socket_t on_open_socket(void* user, curlsocktype /*purpose*/, curl_sockaddr* address) {
  auto* transfer = static_cast<Transfer*>(user);
  if (!transfer->allow_private) {
    std::optional<std::string> refusal;
    if (address->family == AF_INET6 && address->addrlen < sizeof(sockaddr_in6)) {
      refusal = "not-an-address";
    } else {
      refusal = address_refusal(&address->addr);
    }
    if (refusal) {
      if (!transfer->refusal) transfer->refusal = std::move(refusal);
      return CURL_SOCKET_BAD;
    }
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

std::string failure_line(CURLcode code, const Transfer& transfer, long os_errno) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return "timed out after " + seconds_text(transfer.request.timeout);
    case CURLE_COULDNT_RESOLVE_HOST:
      return "could not resolve host";
    case CURLE_COULDNT_CONNECT:
      if (os_errno == ECONNREFUSED) return "connection refused";
      if (os_errno == ENETUNREACH) return "network unreachable";
      if (os_errno == EHOSTUNREACH) return "host unreachable";
      return "could not connect";
    case CURLE_UNSUPPORTED_PROTOCOL:
      return transfer.allow_http ? "only http and https URLs are sent" : "only https URLs are sent";
    case CURLE_URL_MALFORMAT:
      return "malformed URL";
    case CURLE_GOT_NOTHING:
      return "the connection closed without an answer";
    case CURLE_SEND_ERROR:
      return "connection lost while sending";
    case CURLE_RECV_ERROR:
      return "connection lost while receiving";
    case CURLE_PARTIAL_FILE:
      return "the answer ended early";
    case CURLE_WEIRD_SERVER_REPLY:
      return "malformed answer";
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return "HTTP/2 error";
    case CURLE_OUT_OF_MEMORY:
      return "out of memory";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
      // libcurl's TLS messages name the certificate problem and at most the host and port,
      // never the path or query.
      return std::string("TLS: ") +
             (transfer.error_buffer[0] != '\0' ? transfer.error_buffer : curl_easy_strerror(code));
    default:
      return curl_easy_strerror(code);
  }
}

void deliver(Transfer& transfer, Response response) {
  try {
    transfer.done(std::move(response));
  } catch (const std::exception& e) {
    spdlog::debug(R"("msg":"outbound.callback_failed","origin":{},"error":{})",
                  log::quote(transfer.origin), log::quote(e.what()));
  } catch (...) {
    spdlog::debug(R"("msg":"outbound.callback_failed","origin":{})", log::quote(transfer.origin));
  }
}

Response failed(std::string error) {
  Response response;
  response.error = std::move(error);
  return response;
}

}  // namespace

struct HttpClient::Impl {
  /// The requests of one destination that wait, and how many of its requests are running.
  struct Destination {
    std::deque<std::unique_ptr<Transfer>> waiting;
    std::size_t running = 0;
    bool ready = false;  ///< listed in `ready`
  };

  ClientOptions options;
  Slist resolve;  ///< policy.resolve as CURLOPT_RESOLVE entries
  std::string protocols;
  CURLM* multi = nullptr;

  mutable std::mutex mutex;
  std::vector<std::unique_ptr<Transfer>> incoming;  // guarded by mutex
  bool stopping = false;                            // guarded by mutex
  std::atomic<std::size_t> queued{0};
  std::atomic<std::size_t> in_flight{0};
  std::thread thread;

  // Touched by the client's thread only.
  std::unordered_map<std::string, Destination> destinations;
  std::deque<std::string> ready;  // destinations with a waiting request and a free slot, in turn
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> running;

  explicit Impl(ClientOptions given) : options(std::move(given)) {
    options.max_in_flight = std::max<std::size_t>(1, options.max_in_flight);
    options.max_per_destination = std::max<std::size_t>(1, options.max_per_destination);
    protocols = options.policy.allow_http ? "https,http" : "https";
    curl_slist* list = nullptr;
    for (const auto& [host_port, addresses] : options.policy.resolve) {
      std::string entry;
      for (const auto& address : addresses) {
        if (!entry.empty()) entry += ',';
        const bool ipv6 = address.find(':') != std::string::npos && address.front() != '[';
        entry += ipv6 ? "[" + address + "]" : address;
      }
      if (entry.empty()) continue;
      curl_slist* grown = curl_slist_append(list, (host_port + ":" + entry).c_str());
      if (grown == nullptr) {
        curl_slist_free_all(list);
        throw Error(ErrorCode::internal, "internal", "out of memory");
      }
      list = grown;
    }
    resolve.reset(list);
  }

  void run();
  void admit(std::unique_ptr<Transfer> transfer);
  void start_ready();
  bool start(Transfer& transfer);
  void collect_finished();
  void finish(std::unique_ptr<Transfer> transfer, CURLcode code);
  void release_slot(const std::string& destination);
  void stop_all();
};

void HttpClient::Impl::run() {
  while (true) {
    std::vector<std::unique_ptr<Transfer>> arrived;
    {
      std::lock_guard lock(mutex);
      if (stopping) break;
      arrived.swap(incoming);
    }
    for (auto& transfer : arrived) admit(std::move(transfer));
    start_ready();
    int still_running = 0;
    curl_multi_perform(multi, &still_running);
    collect_finished();
    start_ready();
    // Returns at once when a transfer just added needs work, on curl_multi_wakeup (a submit or
    // the destructor), or when a socket or timer of a running transfer needs attention.
    curl_multi_poll(multi, nullptr, 0, kIdlePollMs, nullptr);
  }
  stop_all();
}

void HttpClient::Impl::admit(std::unique_ptr<Transfer> transfer) {
  if (!transfer->invalid.empty()) {
    --queued;
    deliver(*transfer, failed(transfer->invalid));
    return;
  }
  const std::string name = transfer->destination;
  Destination& destination = destinations[name];
  destination.waiting.push_back(std::move(transfer));
  if (!destination.ready && destination.running < options.max_per_destination) {
    destination.ready = true;
    ready.push_back(name);
  }
}

void HttpClient::Impl::start_ready() {
  while (running.size() < options.max_in_flight && !ready.empty()) {
    const std::string name = std::move(ready.front());
    ready.pop_front();
    auto found = destinations.find(name);
    if (found == destinations.end()) continue;
    Destination& destination = found->second;
    destination.ready = false;
    if (!destination.waiting.empty() && destination.running < options.max_per_destination) {
      std::unique_ptr<Transfer> transfer = std::move(destination.waiting.front());
      destination.waiting.pop_front();
      --queued;
      if (start(*transfer)) {
        CURL* easy = transfer->easy.get();
        running.emplace(easy, std::move(transfer));
        ++destination.running;
        in_flight = running.size();
      } else {
        deliver(*transfer, failed("could not set up the request"));
      }
    }
    if (!destination.waiting.empty() && destination.running < options.max_per_destination) {
      destination.ready = true;
      ready.push_back(name);
    } else if (destination.waiting.empty() && destination.running == 0) {
      destinations.erase(found);
    }
  }
}

bool HttpClient::Impl::start(Transfer& transfer) {
  transfer.easy.reset(curl_easy_init());
  CURL* easy = transfer.easy.get();
  if (easy == nullptr) return false;

  curl_slist* headers = nullptr;
  bool has_expect = false;
  bool ok = true;
  const auto add_header = [&](const std::string& line) {
    curl_slist* grown = curl_slist_append(headers, line.c_str());
    if (grown == nullptr) {
      ok = false;
      return;
    }
    headers = grown;
  };
  for (const auto& [name, value] : transfer.request.headers) {
    if (detail::lower(name) == "expect") has_expect = true;
    // "Name;" is libcurl's way to send a header with an empty value ("Name:" removes it).
    add_header(value.empty() ? name + ";" : name + ": " + value);
  }
  // No "Expect: 100-continue" round trip before a large body: receivers answer at once.
  if (!has_expect) add_header("Expect:");
  transfer.headers.reset(headers);

  const auto set = [&](CURLoption option, auto value) {
    if (curl_easy_setopt(easy, option, value) != CURLE_OK) ok = false;
  };
  const Request& request = transfer.request;
  set(CURLOPT_URL, request.url.c_str());
  set(CURLOPT_PRIVATE, static_cast<void*>(&transfer));
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  set(CURLOPT_FOLLOWLOCATION, 0L);
  set(CURLOPT_PROTOCOLS_STR, protocols.c_str());
  set(CURLOPT_REDIR_PROTOCOLS_STR, protocols.c_str());
  // An empty proxy disables http_proxy and friends from the environment: a proxy would be the
  // address vetted, not the destination.
  set(CURLOPT_PROXY, "");
  if (resolve) set(CURLOPT_RESOLVE, resolve.get());
  set(CURLOPT_OPENSOCKETFUNCTION, &on_open_socket);
  set(CURLOPT_OPENSOCKETDATA, static_cast<void*>(&transfer));
  set(CURLOPT_WRITEFUNCTION, &on_body);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&transfer));
  set(CURLOPT_HEADERFUNCTION, &on_header);
  set(CURLOPT_HEADERDATA, static_cast<void*>(&transfer));
  set(CURLOPT_ERRORBUFFER, transfer.error_buffer);
  set(CURLOPT_HTTPHEADER, transfer.headers.get());
  set(CURLOPT_USERAGENT, "loyalty");
  if (request.method == "GET" && request.body.empty()) {
    set(CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    set(CURLOPT_NOBODY, 1L);
  } else {
    set(CURLOPT_POSTFIELDS, request.body.data());
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    if (request.method != "POST") set(CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!ok) return false;

  transfer.started = Clock::now();
  return curl_multi_add_handle(multi, easy) == CURLM_OK;
}

void HttpClient::Impl::collect_finished() {
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL* easy = message->easy_handle;
    const CURLcode code = message->data.result;
    auto found = running.find(easy);
    if (found == running.end()) continue;
    std::unique_ptr<Transfer> transfer = std::move(found->second);
    running.erase(found);
    in_flight = running.size();
    curl_multi_remove_handle(multi, easy);
    finish(std::move(transfer), code);
  }
}

void HttpClient::Impl::finish(std::unique_ptr<Transfer> transfer, CURLcode code) {
  Response response = std::move(transfer->response);
  response.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - transfer->started);
  if (code == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(transfer->easy.get(), CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
  } else {
    // An answer cut short is no answer: ok() must never hold beside an error.
    response.status = 0;
    long os_errno = 0;
    curl_easy_getinfo(transfer->easy.get(), CURLINFO_OS_ERRNO, &os_errno);
    if (transfer->refusal && code != CURLE_OPERATION_TIMEDOUT) {
      response.address_refused = true;
      response.error = "address refused: " + *transfer->refusal;
    } else {
      response.timed_out = code == CURLE_OPERATION_TIMEDOUT;
      response.error = failure_line(code, *transfer, os_errno);
    }
  }
  spdlog::debug(R"("msg":"outbound.done","origin":{},"status":{},"duration_ms":{},"error":{})",
                log::quote(transfer->origin), response.status, response.duration.count(),
                log::quote(response.error));

  const std::string destination = transfer->destination;
  transfer->easy.reset();
  transfer->headers.reset();
  release_slot(destination);
  deliver(*transfer, std::move(response));
}

void HttpClient::Impl::release_slot(const std::string& name) {
  auto found = destinations.find(name);
  if (found == destinations.end()) return;
  Destination& destination = found->second;
  if (destination.running > 0) --destination.running;
  if (!destination.waiting.empty() && !destination.ready &&
      destination.running < options.max_per_destination) {
    destination.ready = true;
    ready.push_back(name);
  } else if (destination.waiting.empty() && destination.running == 0 && !destination.ready) {
    destinations.erase(found);
  }
}

void HttpClient::Impl::stop_all() {
  for (auto& [easy, transfer] : running) {
    curl_multi_remove_handle(multi, easy);
    transfer->easy.reset();
    transfer->headers.reset();
    deliver(*transfer, failed("client stopped"));
  }
  running.clear();
  in_flight = 0;
  for (auto& [name, destination] : destinations) {
    for (auto& transfer : destination.waiting) deliver(*transfer, failed("client stopped"));
  }
  destinations.clear();
  ready.clear();
  std::vector<std::unique_ptr<Transfer>> arrived;
  {
    std::lock_guard lock(mutex);
    arrived.swap(incoming);
  }
  for (auto& transfer : arrived) deliver(*transfer, failed("client stopped"));
  queued = 0;
}

HttpClient::HttpClient(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  detail::ensure_curl();
  impl_->multi = curl_multi_init();
  if (impl_->multi == nullptr) {
    throw Error(ErrorCode::internal, "internal", "libcurl multi handle could not be created");
  }
  try {
    impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
  } catch (...) {
    curl_multi_cleanup(impl_->multi);
    throw;
  }
}

HttpClient::~HttpClient() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  curl_multi_wakeup(impl_->multi);
  impl_->thread.join();
  curl_multi_cleanup(impl_->multi);
}

bool HttpClient::submit(Request request, std::function<void(Response)> done) {
  auto transfer = std::make_unique<Transfer>();
  transfer->keep_body_bytes = impl_->options.keep_body_bytes;
  transfer->allow_private = impl_->options.policy.allow_private;
  transfer->allow_http = impl_->options.policy.allow_http;
  if (const auto parts = detail::parse_url(request.url)) {
    transfer->origin = detail::origin(*parts);
    transfer->destination = request.destination.empty()
                                ? parts->host + ":" + std::to_string(parts->port)
                                : request.destination;
  } else {
    transfer->invalid = "malformed URL";
  }
  if (!is_token(request.method)) transfer->invalid = "invalid method";
  for (const auto& [name, value] : request.headers) {
    if (!is_token(name) || !is_header_value(value)) transfer->invalid = "invalid header";
  }
  if (request.timeout.count() <= 0) transfer->invalid = "the timeout must be positive";
  transfer->request = std::move(request);
  transfer->done = std::move(done);

  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping || impl_->queued >= impl_->options.max_queued) return false;
    ++impl_->queued;
    impl_->incoming.push_back(std::move(transfer));
    // Under the lock, so the destructor cannot clean the multi handle up meanwhile.
    curl_multi_wakeup(impl_->multi);
  }
  return true;
}

Response HttpClient::send(Request request) {
  if (std::this_thread::get_id() == impl_->thread.get_id()) {
    return failed("send() called from a callback on the client's thread");
  }
  auto promise = std::make_shared<std::promise<Response>>();
  auto outcome = promise->get_future();
  if (!submit(std::move(request),
              [promise](Response response) { promise->set_value(std::move(response)); })) {
    return failed("too many requests queued");
  }
  return outcome.get();
}

std::size_t HttpClient::in_flight() const { return impl_->in_flight; }

std::size_t HttpClient::queued() const { return impl_->queued; }

}  // namespace loyalty::outbound
