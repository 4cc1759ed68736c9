#pragma once
// The daemon's HTTP mechanism: one route table, each route declaring who may call it; every
// request passes the same steps (request id, limits, authentication, tenant wall, rate limit,
// handler, problem+json on error, metrics, one log line).

#include <loyalty/core/error.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace loyaltyd {

/// Orders header names without regard to case, as HTTP compares them.
struct CaseInsensitiveLess {
  bool operator()(const std::string& a, const std::string& b) const;
};

/// A request as it arrived, once the edge has read all of it within its limits (edge.cpp).
struct HttpRequest {
  std::string method;
  std::string path;    ///< percent-decoded, without the query string
  std::string target;  ///< the request target exactly as sent: path and query string
  std::string body;    ///< decoded: chunked framing and Content-Encoding already removed
  std::string remote_addr;
  std::multimap<std::string, std::string, CaseInsensitiveLess> headers;
  std::multimap<std::string, std::string> params;  ///< query parameters, percent-decoded

  bool has_header(const std::string& name) const { return headers.count(name) > 0; }
  /// The first value of a header, or empty.
  std::string get_header_value(const std::string& name) const;
  bool has_param(const std::string& name) const { return params.count(name) > 0; }
  /// The first value of a query parameter, or empty.
  std::string get_param_value(const std::string& name) const;
};

/// Who may call a route: a bit set of principal kinds.
enum Allow : unsigned {
  kPublic = 0,         ///< no credential needed
  kAdmin = 1u << 0,    ///< dashboard user with role admin
  kManager = 1u << 1,  ///< dashboard user with role manager
  kViewer = 1u << 2,   ///< dashboard user with role viewer
  kPos = 1u << 3,      ///< POS API key (or HMAC-signed server call)
};
inline constexpr unsigned kAnyUser = kAdmin | kManager | kViewer;
inline constexpr unsigned kAnyone = kAnyUser | kPos;

/// The authenticated caller of a request.
struct Principal {
  enum class Kind { none, user, api_key, hmac } kind = Kind::none;
  std::string id;         ///< user id, API key prefix or HMAC key id
  std::string tenant_id;  ///< empty only for platform-wide HMAC keys (they act for any tenant)
  std::string role;       ///< admin | manager | viewer | pos
};

/// One request as handlers see it.
struct Request {
  const HttpRequest& raw;
  std::map<std::string, std::string> params;  ///< path parameters, e.g. "tid", "id"
  Principal principal;
  std::string request_id;
  std::string tenant_id;  ///< the path's tenant once the wall let the request through
  std::string client_ip;

  /// The body parsed as a JSON object: 415 unless JSON, 400 with the place it broke, depth
  /// over 64 rejected. `allowed` lists the accepted top-level fields; others → 400.
  nlohmann::json json_body(const std::vector<std::string>& allowed) const;
  /// Whether the request has a body at all.
  bool has_body() const;
  /// A query parameter, or empty.
  std::string query(const std::string& name) const;
  /// A header, or empty.
  std::string header(const std::string& name) const;
};

/// A handler's answer.
struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Reply json(int status, const nlohmann::json& value) {
    return Reply{status, "application/json", value.dump(), {}};
  }
  static Reply text(int status, std::string body, std::string type = "text/plain; charset=utf-8") {
    return Reply{status, std::move(type), std::move(body), {}};
  }
};

using Handler = std::function<Reply(Request&)>;

/// A list answer: {"items": [...], "next_cursor": "..." or null}.
template <typename Page, typename ToJson>
nlohmann::json page_json(const Page& page, ToJson to_json) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& item : page.items) items.push_back(to_json(item));
  return {{"items", items},
          {"next_cursor",
           page.next_cursor.empty() ? nlohmann::json() : nlohmann::json(page.next_cursor)}};
}

/// A required string field of a body; Error(invalid) with its pointer otherwise.
std::string required_string(const nlohmann::json& body, const std::string& field);

/// An optional string field: absent or null is nullopt; otherwise as required_string.
std::optional<std::string> optional_string(const nlohmann::json& body, const std::string& field);

/// One row of the route table.
struct Route {
  std::string method;   ///< GET, POST, PATCH, DELETE
  std::string pattern;  ///< e.g. "/v1/tenants/{tid}/customers/{id}"
  unsigned allow;       ///< Allow bits; kPublic for open routes
  Handler handler;
  std::string summary;  ///< one line, for logs and the route listing
};

/// Turns a library error into problem+json (RFC 9457) with a stable type URI.
Reply problem(const loyalty::Error& error, const std::string& request_id);
/// A problem reply from parts, for errors that arise in the HTTP layer itself.
Reply problem(int status, const std::string& type, const std::string& title,
              const std::string& detail, const std::string& request_id);

}  // namespace loyaltyd
