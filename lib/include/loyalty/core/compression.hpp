#pragma once
// Decoding compressed request bodies without letting a small input expand without bound.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace loyalty {

/// A content coding of HTTP (RFC 9110, 8.4.1) that the daemon accepts on request bodies.
enum class ContentCoding { identity, gzip, deflate, br };

/// The coding a Content-Encoding header names (case-insensitive, surrounding spaces ignored; an
/// empty header is identity); nullopt for codings not supported, or for a list of several.
std::optional<ContentCoding> parse_content_coding(std::string_view header) noexcept;

/// The decoded bytes of `input`, or nullopt as soon as they would exceed `limit`: decoding stops
/// there, so a 1 KiB bomb that would expand to a gigabyte costs at most `limit` bytes of memory.
/// `deflate` accepts the zlib format and, as browsers do, raw deflate. Throws
/// Error(invalid, "malformed-request") when `input` is not valid in its coding or is truncated.
std::optional<std::string> decode_bounded(ContentCoding coding, std::string_view input,
                                          std::size_t limit);

}  // namespace loyalty
