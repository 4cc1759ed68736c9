#include "body.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/core/json_text.hpp>
#include <loyalty/core/utf8.hpp>

#include <algorithm>

namespace loyaltyd {

namespace {

[[noreturn]] void malformed(std::string detail) {
  throw loyalty::Error(loyalty::ErrorCode::invalid, "malformed-request", std::move(detail));
}

}  // namespace

void require_utf8_body(std::string_view body) {
  if (!loyalty::utf8::valid(body)) malformed("the body is not valid UTF-8");
}

nlohmann::json parse_json_body(std::string_view content_type, const std::string& body,
                               const std::vector<std::string>& allowed) {
  if (content_type.rfind("application/json", 0) != 0 &&
      content_type.rfind("application/merge-patch+json", 0) != 0) {
    throw loyalty::Error(loyalty::ErrorCode::invalid, "unsupported-media-type",
                         "the body must be application/json");
  }
  if (loyalty::json_text::depth(body) > kMaxJsonDepth) {
    malformed("the JSON body nests deeper than 64 levels");
  }
  if (!loyalty::utf8::valid(body)) malformed("the body is not valid UTF-8");
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    malformed("malformed JSON at byte " + std::to_string(e.byte));
  } catch (const nlohmann::json::out_of_range&) {
    // nlohmann refuses a number past a double's range (1e400) with out_of_range.406; uncaught,
    // it was a 500.
    malformed("the body holds a number too large to represent");
  }
  if (!parsed.is_object()) malformed("the JSON body must be an object");
  std::vector<loyalty::FieldError> unknown;
  for (const auto& [key, value] : parsed.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      unknown.push_back({"/" + key, "unknown field"});
    }
  }
  if (!unknown.empty()) {
    throw loyalty::Error(loyalty::ErrorCode::invalid, "unknown-field",
                         "the body has fields this endpoint does not accept", unknown);
  }
  return parsed;
}

}  // namespace loyaltyd
