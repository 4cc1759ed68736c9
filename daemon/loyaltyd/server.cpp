#include "server.hpp"

#include "body.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <random>
#include <sstream>

namespace loyaltyd {

namespace {

constexpr std::size_t kMaxBody = 1 << 20;  // 1 MiB; code uploads have their own limit

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 1;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::ostringstream out;
  out << "req_" << std::hex << rng();
  return out.str();
}

bool valid_request_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

std::string json_escape(const std::string& s) { return nlohmann::json(s).dump(); }

}  // namespace

nlohmann::json Request::json_body(const std::vector<std::string>& allowed) const {
  return parse_json_body(raw.get_header_value("Content-Type"), raw.body, allowed);
}

std::string required_string(const nlohmann::json& body, const std::string& field) {
  if (!body.contains(field) || !body[field].is_string() || body[field].get<std::string>().empty()) {
    loyalty::throw_invalid("the request is not valid",
                           {{"/" + field, "a non-empty string is required"}});
  }
  return body[field].get<std::string>();
}

std::optional<std::string> optional_string(const nlohmann::json& body, const std::string& field) {
  if (!body.contains(field) || body[field].is_null()) return std::nullopt;
  return required_string(body, field);
}

bool Request::has_body() const { return !raw.body.empty(); }

std::string Request::query(const std::string& name) const {
  return raw.has_param(name) ? raw.get_param_value(name) : std::string();
}

std::string Request::header(const std::string& name) const { return raw.get_header_value(name); }

Server::Server(App& app) : app_(app), http_(std::make_unique<httplib::Server>()) {
  int threads = app.settings.http_threads > 0 ? app.settings.http_threads : 32;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // cpp-httplib writes a response's headers and body in two sends: with Nagle's algorithm on,
  // the body waits for the client's delayed ACK of the headers, 40 ms on every keep-alive request.
  http_->set_tcp_nodelay(true);
  http_->set_keep_alive_timeout(5);
  http_->set_keep_alive_max_count(1000);
  http_->set_read_timeout(10);
  http_->set_write_timeout(10);
  http_->set_payload_max_length(kMaxBody);

  auto entry = [this](const httplib::Request& raw, httplib::Response& res) {
    auto started = std::chrono::steady_clock::now();
    Request request{raw, {}, {}, {}, {}, raw.remote_addr};
    std::string given = raw.get_header_value("X-Request-Id");
    request.request_id = valid_request_id(given) ? given : new_request_id();

    const Route* matched = nullptr;
    Reply reply;
    try {
      reply = dispatch(request, matched);
    } catch (const loyalty::Error& e) {
      reply = problem(e, request.request_id);
    } catch (const std::exception& e) {
      spdlog::error(R"("msg":"http.unhandled","request_id":{},"error":{})",
                    json_escape(request.request_id), json_escape(e.what()));
      reply = problem(500, "internal", "", "an internal error occurred; quote the request id",
                      request.request_id);
    }
    res.status = reply.status;
    for (auto& [k, v] : reply.headers) res.set_header(k, v);
    res.set_header("X-Request-Id", request.request_id);
    res.set_content(reply.body, reply.content_type);

    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::string route = matched ? matched->pattern : "unmatched";
    app_.metrics.observe(raw.method, route, reply.status, seconds);
    spdlog::info(
        R"("msg":"http.request","request_id":{},"method":"{}","route":{},"status":{},"duration_ms":{:.2f},"tenant_id":{})",
        json_escape(request.request_id), raw.method, json_escape(route), reply.status,
        seconds * 1000, json_escape(request.tenant_id));
  };
  for (const char* method : {"GET", "POST", "PATCH", "PUT", "DELETE"}) {
    std::string m = method;
    auto pattern = R"(/.*)";
    if (m == "GET") http_->Get(pattern, entry);
    if (m == "POST") http_->Post(pattern, entry);
    if (m == "PATCH") http_->Patch(pattern, entry);
    if (m == "PUT") http_->Put(pattern, entry);
    if (m == "DELETE") http_->Delete(pattern, entry);
  }
  // Errors cpp-httplib raises before routing (oversized body, bad request line).
  http_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string type = res.status == 413 ? "payload-too-large" : "bad-request";
    Reply reply = problem(res.status, type, "",
                          res.status == 413 ? "the request body is larger than allowed"
                                            : "the request could not be read",
                          "");
    res.set_content(reply.body, reply.content_type);
  });
}

Server::~Server() = default;

namespace {
std::vector<RouteGroup::Add>& route_groups() {
  static std::vector<RouteGroup::Add> groups;
  return groups;
}
}  // namespace

RouteGroup::RouteGroup(Add add) { route_groups().push_back(add); }

nlohmann::json route_table_json(const Server& server) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& route : server.routes()) {
    nlohmann::json roles = nlohmann::json::array();
    if (route.allow == kPublic) roles.push_back("public");
    if (route.allow & kAdmin) roles.push_back("admin");
    if (route.allow & kManager) roles.push_back("manager");
    if (route.allow & kViewer) roles.push_back("viewer");
    if (route.allow & kPos) roles.push_back("pos");
    out.push_back({{"method", route.method},
                   {"path", route.pattern},
                   {"roles", roles},
                   {"summary", route.summary}});
  }
  return out;
}

void add_all_routes(Server& server, App& app) {
  for (auto add : route_groups()) add(server, app);
}

void Server::add(Route route) { routes_.push_back(std::move(route)); }

const Route* Server::match(const std::string& method, const std::string& path,
                           std::map<std::string, std::string>& params, bool& path_exists) const {
  auto parts = split_path(path);
  path_exists = false;
  for (const auto& route : routes_) {
    auto pattern = split_path(route.pattern);
    if (pattern.size() != parts.size()) continue;
    std::map<std::string, std::string> found;
    bool ok = true;
    for (std::size_t i = 0; i < parts.size() && ok; ++i) {
      const auto& p = pattern[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        if (parts[i].empty())
          ok = false;
        else
          found[p.substr(1, p.size() - 2)] = parts[i];
      } else if (p != parts[i]) {
        ok = false;
      }
    }
    if (!ok) continue;
    path_exists = true;
    if (route.method == method) {
      params = std::move(found);
      return &route;
    }
  }
  return nullptr;
}

Reply Server::dispatch(Request& request, const Route*& matched) {
  bool path_exists = false;
  matched = match(request.raw.method, request.raw.path, request.params, path_exists);
  if (!matched) {
    if (path_exists) {
      return problem(405, "method-not-allowed", "",
                     "this path does not accept " + request.raw.method, request.request_id);
    }
    return problem(404, "not-found", "", "no such resource", request.request_id);
  }
  authorize(request, *matched);
  return matched->handler(request);
}

int Server::bind(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    throw loyalty::Error(loyalty::ErrorCode::invalid, "bad-listen",
                         "--listen must be HOST:PORT, got '" + listen + "'");
  }
  std::string host = listen.substr(0, colon);
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (const std::exception&) {
    throw loyalty::Error(loyalty::ErrorCode::invalid, "bad-listen",
                         "--listen must be HOST:PORT, got '" + listen + "'");
  }
  if (port == 0) {
    port = http_->bind_to_any_port(host);
    if (port < 0) port = -1;
  } else if (!http_->bind_to_port(host, port)) {
    port = -1;
  }
  if (port < 0) {
    throw loyalty::Error(loyalty::ErrorCode::unavailable, "bind-failed",
                         "cannot listen on " + listen + " (address in use or not permitted)");
  }
  return port;
}

void Server::serve() { http_->listen_after_bind(); }

void Server::stop() { http_->stop(); }

}  // namespace loyaltyd
