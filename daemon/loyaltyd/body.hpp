#pragma once
// Reading a request body as JSON: the daemon's one parser and its limits, free of any HTTP
// library so a fuzzer can drive it directly.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace loyaltyd {

/// Deepest nesting a JSON body may have.
inline constexpr int kMaxJsonDepth = 64;

/// Parses `body` (of media type `content_type`) as a JSON object whose top-level fields are all
/// in `allowed`. Throws Error(invalid) typed `unsupported-media-type` (415) unless JSON,
/// `malformed-request` (400) for text that is not JSON, nests deeper than kMaxJsonDepth, holds a
/// number no double can represent (`1e400`) or invalid UTF-8, and `unknown-field` (400) with a
/// pointer per field not accepted.
nlohmann::json parse_json_body(std::string_view content_type, const std::string& body,
                               const std::vector<std::string>& allowed);

/// Checks a text body that is not JSON (a code upload): Error(invalid, "malformed-request"),
/// a 400, unless it is well-formed UTF-8.
void require_utf8_body(std::string_view body);

}  // namespace loyaltyd
