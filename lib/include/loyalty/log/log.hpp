#pragma once

#include <string>
#include <string_view>

namespace loyalty::log {

/// Human-readable logs on stderr for the CLI (warnings and above unless `level` says otherwise).
void init_cli(const std::string& level);

/// One JSON object per line on stdout for the daemon. A message that starts with `"msg":` is
/// taken as the object's fields and must be valid JSON once wrapped in braces (use quote() for
/// every text value); any other message, or fields that do not parse, become one escaped "msg".
void init_daemon(const std::string& level);

/// `text` as a JSON string literal, quotes included, for a log line's fields: quotes, control
/// characters and invalid UTF-8 (replaced by U+FFFD) cannot break the line. quote("a\"b")
/// gives `"a\"b"`.
std::string quote(std::string_view text);

/// Masks a phone number for logs: "+263771234567" → "+26377*****67".
std::string mask_phone(const std::string& phone);

}  // namespace loyalty::log
