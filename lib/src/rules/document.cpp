#include <loyalty/core/error.hpp>
#include <loyalty/rules/limits.hpp>

#include <string>

namespace loyalty::rules {

nlohmann::json parse_document(std::string_view text, const Limits& limits) {
  if (text.size() > limits.max_document_bytes) {
    std::string message =
        "JSON text larger than " + std::to_string(limits.max_document_bytes) + " bytes";
    throw_invalid("invalid JSON: " + message);
  }
  // Measure the nesting before parsing, so that no hostile depth reaches any recursive code.
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limits.max_depth) {
        std::string message = "nested deeper than " + std::to_string(limits.max_depth) +
                              " levels (at byte " + std::to_string(i) + ")";
        throw_invalid("invalid JSON: " + message);
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    // A syntax error, or a number too large for a double (out_of_range.406). Drop nlohmann's
    // "[json.exception.parse_error.101] " prefix.
    std::string message = e.what();
    if (auto end = message.find("] ");
        message.starts_with("[json.exception") && end != std::string::npos) {
      message.erase(0, end + 2);
    }
    throw_invalid("invalid JSON: " + message);
  }
}

}  // namespace loyalty::rules
