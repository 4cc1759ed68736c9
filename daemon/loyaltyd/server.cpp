#include "server.hpp"

#include "body.hpp"
#include "edge.hpp"

#include <loyalty/whatsapp/inbound.hpp>

#include <spdlog/spdlog.h>

#include <random>
#include <sstream>

namespace loyaltyd {

namespace {

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

namespace {

EdgeLimits limits_of(const loyalty::config::Settings& settings) {
  EdgeLimits limits;
  if (settings.http_threads > 0) limits.handler_threads = settings.http_threads;
  if (settings.request_timeout > 0) {
    limits.request_timeout = std::chrono::seconds(settings.request_timeout);
  }
  if (settings.keep_alive_timeout > 0) {
    limits.keep_alive_timeout = std::chrono::seconds(settings.keep_alive_timeout);
  }
  if (settings.max_connections > 0) limits.max_connections = settings.max_connections;
  if (settings.max_connections_per_ip > 0) {
    limits.max_connections_per_ip = settings.max_connections_per_ip;
  }
  limits.max_queued = static_cast<std::size_t>(limits.handler_threads) * 32;
  // Meta sends webhook bodies of up to 3 MB (lib/whatsapp/inbound.hpp).
  limits.large_bodies.emplace_back("/public/wa/webhook", loyalty::whatsapp::kMaxBodyBytes);
  return limits;
}

}  // namespace

Server::Server(App& app) : app_(app) {
  edge_ = std::make_unique<Edge>(limits_of(app.settings),
                                 [this](HttpRequest& raw) { return answer(raw); });
  app.metrics.attach_edge(&edge_->stats());
}

const EdgeStats& Server::edge_stats() const { return edge_->stats(); }

Reply Server::answer(const HttpRequest& raw) {
  auto started = std::chrono::steady_clock::now();
  // The client's address for rate limits, login throttling and the log line: the peer, or
  // behind a trusted proxy the hop its X-Forwarded-For names (the edge's per-address connection
  // cap stays on the peer: that is whose sockets they are).
  std::vector<std::string> forwarded;
  for (auto [it, end] = raw.headers.equal_range("X-Forwarded-For"); it != end; ++it) {
    forwarded.push_back(it->second);
  }
  std::string client_ip = app_.trusted_proxies.client_address(raw.remote_addr, forwarded);
  Request request{raw, {}, {}, {}, {}, std::move(client_ip)};
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
  reply.headers.emplace_back("X-Request-Id", request.request_id);

  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string route = matched ? matched->pattern : "unmatched";
  app_.metrics.observe(raw.method, route, reply.status, seconds);
  spdlog::info(
      R"("msg":"http.request","request_id":{},"method":{},"route":{},"status":{},"duration_ms":{:.2f},"tenant_id":{},"client_ip":{})",
      json_escape(request.request_id), json_escape(raw.method), json_escape(route), reply.status,
      seconds * 1000, json_escape(request.tenant_id), json_escape(request.client_ip));
  return reply;
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
    if (app_.web && request.raw.method == "GET") {
      if (auto page = app_.web->serve(request.raw.path)) return *page;
    }
    return problem(404, "not-found", "", "no such resource", request.request_id);
  }
  authorize(request, *matched);
  return matched->handler(request);
}

int Server::bind(const std::string& listen) {
  auto colon = listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    try {
      std::size_t used = 0;
      port = std::stoi(listen.substr(colon + 1), &used);
      if (used != listen.size() - colon - 1 || port > 65535) port = -1;
    } catch (const std::exception&) {
      port = -1;
    }
  }
  if (port < 0) {
    throw loyalty::Error(loyalty::ErrorCode::invalid, "bad-listen",
                         "--listen must be HOST:PORT, got '" + listen + "'");
  }
  int bound = edge_->bind(listen.substr(0, colon), port);
  if (bound < 0) {
    throw loyalty::Error(loyalty::ErrorCode::unavailable, "bind-failed",
                         "cannot listen on " + listen + " (address in use or not permitted)");
  }
  return bound;
}

void Server::serve() { edge_->serve(); }

void Server::stop() { edge_->stop(); }

}  // namespace loyaltyd
