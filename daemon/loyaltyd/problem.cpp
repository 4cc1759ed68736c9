// The one place errors become HTTP answers: application/problem+json (RFC 9457).
#include "http.hpp"

namespace loyaltyd {

namespace {

int status_for(loyalty::ErrorCode code) {
  switch (code) {
    case loyalty::ErrorCode::not_found:
      return 404;
    case loyalty::ErrorCode::conflict:
      return 409;
    case loyalty::ErrorCode::invalid:
      return 422;
    case loyalty::ErrorCode::unauthorized:
      return 401;
    case loyalty::ErrorCode::forbidden:
      return 403;
    case loyalty::ErrorCode::rate_limited:
      return 429;
    case loyalty::ErrorCode::unavailable:
      return 503;
    case loyalty::ErrorCode::internal:
      return 500;
  }
  return 500;
}

std::string title_for(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Internal Server Error";
  }
}

}  // namespace

Reply problem(int status, const std::string& type, const std::string& title,
              const std::string& detail, const std::string& request_id) {
  nlohmann::json body = {{"type", "https://loyalty.example/problems/" + type},
                         {"title", title.empty() ? title_for(status) : title},
                         {"status", status},
                         {"detail", detail}};
  if (!request_id.empty()) body["request_id"] = request_id;
  return Reply{status, "application/problem+json", body.dump(), {}};
}

Reply problem(const loyalty::Error& error, const std::string& request_id) {
  int status = status_for(error.code());
  // Malformed requests (bad JSON, unknown fields) are 400; well-formed but invalid ones 422.
  if (error.type() == "malformed-request" || error.type() == "unknown-field" ||
      error.type() == "malformed-callback")
    status = 400;
  if (error.type() == "payload-too-large") status = 413;
  if (error.type() == "unsupported-media-type") status = 415;
  std::string detail = error.code() == loyalty::ErrorCode::internal
                           ? "an internal error occurred; quote the request id to support"
                           : error.what();
  Reply reply = problem(status, error.type(), "", detail, request_id);
  if (!error.fields().empty() || !error.extensions().empty()) {
    auto body = nlohmann::json::parse(reply.body);
    for (const auto& [key, value] : error.extensions()) {
      if (key == "retry_after") {
        reply.headers.emplace_back("Retry-After", value);
        body[key] = std::stoi(value);
      } else {
        body[key] = value;
      }
    }
    auto errors = nlohmann::json::array();
    for (const auto& f : error.fields()) {
      errors.push_back({{"pointer", f.pointer}, {"message", f.message}});
    }
    if (!errors.empty()) body["errors"] = errors;
    reply.body = body.dump();
  }
  return reply;
}

}  // namespace loyaltyd
