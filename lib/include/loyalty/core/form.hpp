#pragma once
// application/x-www-form-urlencoded bodies and query strings, as gateways and browsers send them.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loyalty {

/// `value` percent-encoded for a query string or a form: letters, digits and "-._~" as they are,
/// every other byte as %XX (so a space is %20, '*' is %2A).
std::string percent_encode(std::string_view value);

/// `text` with each %XX decoded (a '%' not followed by two hex digits stays as it is), and '+'
/// as a space when `plus_is_space` (forms and query strings; not paths).
std::string percent_decode(std::string_view text, bool plus_is_space);

/// The name=value pairs of a form or query string, in order, '+' and %XX decoded (a '%' not
/// followed by two hex digits stays as it is). The decoded bytes may be anything: check them.
std::vector<std::pair<std::string, std::string>> form_decode(std::string_view form);

/// name=value pairs joined by '&', each side percent-encoded.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace loyalty
