#pragma once
// JavaScript's conversions between numbers and strings, which JsonLogic inherits: String(n),
// Number(s) and parseFloat(s); and UTF-8 helpers for string operators that count characters.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace loyalty::rules::detail {

/// Enough for any number formatted by format_number.
constexpr std::size_t kNumberBufferSize = 32;

/// Writes String(value) as JavaScript does (shortest round-trip digits: "72.5", "1e+21",
/// "0.000001", "1e-7", "NaN", "-Infinity"); returns the length.
std::size_t format_number(double value, char* buffer);

/// JavaScript's Number(text): surrounding white space ignored, "" is 0, decimal, "Infinity",
/// hex/octal/binary prefixes; NaN for anything else.
double string_to_number(std::string_view text) noexcept;

/// JavaScript's parseFloat(text): the longest decimal prefix after leading white space; NaN if
/// there is none.
double parse_float(std::string_view text) noexcept;

/// Number of Unicode code points in UTF-8 text (an invalid byte counts as one).
std::size_t code_point_count(std::string_view text) noexcept;
/// Length in UTF-16 code units, JavaScript's `length` of a string.
std::size_t utf16_length(std::string_view text) noexcept;
/// Byte offset of code point `index` (text.size() when index is past the end).
std::size_t code_point_offset(std::string_view text, std::size_t index) noexcept;

/// Whether `segment` is a canonical array index ("0", "17"; not "01", "-1", "1.0"); sets index.
bool parse_array_index(std::string_view segment, std::uint32_t& index) noexcept;

}  // namespace loyalty::rules::detail
