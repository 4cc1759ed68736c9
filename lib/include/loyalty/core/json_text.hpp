#pragma once
// JSON text before it is parsed.

#include <string_view>

namespace loyalty::json_text {

/// The deepest nesting of objects and arrays in JSON text, counted without parsing, so that
/// hostile nesting never reaches the parser (or the recursive destructor of what it would build).
int depth(std::string_view text);

}  // namespace loyalty::json_text
