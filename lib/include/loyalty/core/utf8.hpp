#pragma once
// UTF-8 text: whether bytes are valid UTF-8, and text that can be stored whatever arrived.

#include <cstddef>
#include <string>
#include <string_view>

namespace loyalty::utf8 {

/// Length of the well-formed UTF-8 sequence at text[i] (1 to 4), or 0 when there is none
/// (overlong forms, surrogates and code points past U+10FFFF are not well formed).
std::size_t sequence_at(std::string_view text, std::size_t i);

/// True when every byte belongs to a well-formed sequence.
bool valid(std::string_view text);

/// At most max_bytes of text as valid UTF-8 without NUL (which PostgreSQL's text refuses): each
/// ill-formed byte and each NUL becomes U+FFFD, and a character that would cross the limit is
/// left out whole — for keeping what a stranger sent (a response body) in a text column.
std::string storable(std::string_view text, std::size_t max_bytes);

/// Valid UTF-8 text in at most max_chars characters (code points): unchanged when it fits,
/// else cut at a character and ended with "…" (for a title Meta limits to 20 characters).
/// Ill-formed bytes are left out.
std::string shortened(std::string_view text, std::size_t max_chars);

}  // namespace loyalty::utf8
