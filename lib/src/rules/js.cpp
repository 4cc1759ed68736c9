#include "js.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace loyalty::rules::detail {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Byte length of the JavaScript white space or line terminator that `s` starts with, or 0.
std::size_t leading_space(std::string_view s) noexcept {
  if (s.empty()) return 0;
  auto b = static_cast<unsigned char>(s[0]);
  if (b == ' ' || (b >= 0x09 && b <= 0x0d)) return 1;
  if (s.size() >= 2 && b == 0xc2 && static_cast<unsigned char>(s[1]) == 0xa0) return 2;
  if (s.size() < 3) return 0;
  auto b1 = static_cast<unsigned char>(s[1]);
  auto b2 = static_cast<unsigned char>(s[2]);
  if (b == 0xe1 && b1 == 0x9a && b2 == 0x80) return 3;  // U+1680
  if (b == 0xe2 && b1 == 0x80 &&
      ((b2 >= 0x80 && b2 <= 0x8a) || b2 == 0xa8 || b2 == 0xa9 || b2 == 0xaf))
    return 3;                                           // U+2000-200A, U+2028, U+2029, U+202F
  if (b == 0xe2 && b1 == 0x81 && b2 == 0x9f) return 3;  // U+205F
  if (b == 0xe3 && b1 == 0x80 && b2 == 0x80) return 3;  // U+3000
  if (b == 0xef && b1 == 0xbb && b2 == 0xbf) return 3;  // U+FEFF
  return 0;
}

std::size_t trailing_space(std::string_view s) noexcept {
  if (s.empty()) return 0;
  for (std::size_t n = 1; n <= 3 && n <= s.size(); ++n) {
    if (leading_space(s.substr(s.size() - n)) == n) return n;
  }
  return 0;
}

std::string_view trim_start(std::string_view s) noexcept {
  while (std::size_t n = leading_space(s)) s.remove_prefix(n);
  return s;
}

std::string_view trim(std::string_view s) noexcept {
  s = trim_start(s);
  while (std::size_t n = trailing_space(s)) s.remove_suffix(n);
  return s;
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Length of the longest StrUnsignedDecimalLiteral prefix of `s` (without "Infinity"), 0 if none.
std::size_t decimal_prefix(std::string_view s) noexcept {
  std::size_t i = 0;
  std::size_t digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    std::size_t j = i + 1;
    std::size_t fraction = 0;
    while (j < s.size() && is_digit(s[j])) ++j, ++fraction;
    if (digits + fraction > 0) {
      i = j;
      digits += fraction;
    }
  }
  if (digits == 0) return 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    std::size_t j = i + 1;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    std::size_t exponent_digits = 0;
    while (j < s.size() && is_digit(s[j])) ++j, ++exponent_digits;
    if (exponent_digits > 0) i = j;
  }
  return i;
}

// The value of a complete unsigned decimal literal.
double decimal_value(std::string_view literal) noexcept {
  double value = 0;
  auto [end, error] = std::from_chars(literal.data(), literal.data() + literal.size(), value,
                                      std::chars_format::general);
  if (error == std::errc() && end == literal.data() + literal.size()) return value;
  // Out of range: decide between overflow and underflow from the decimal magnitude.
  long magnitude = 0;
  bool nonzero = false;
  long integer_digits = 0;
  std::size_t i = 0;
  for (; i < literal.size() && is_digit(literal[i]); ++i) {
    if (!nonzero && literal[i] != '0') {
      nonzero = true;
      magnitude = -integer_digits;
    }
    ++integer_digits;
  }
  if (nonzero) magnitude += integer_digits;
  if (i < literal.size() && literal[i] == '.') {
    long position = 0;
    for (++i; i < literal.size() && is_digit(literal[i]); ++i) {
      ++position;
      if (!nonzero && literal[i] != '0') {
        nonzero = true;
        magnitude = 1 - position;
      }
    }
  }
  if (!nonzero) return 0;
  long exponent = 0;
  if (i < literal.size() && (literal[i] == 'e' || literal[i] == 'E')) {
    ++i;
    bool negative = false;
    if (i < literal.size() && (literal[i] == '+' || literal[i] == '-'))
      negative = literal[i++] == '-';
    for (; i < literal.size() && is_digit(literal[i]); ++i) {
      if (exponent < 100'000'000) exponent = exponent * 10 + (literal[i] - '0');
    }
    if (negative) exponent = -exponent;
  }
  return magnitude + exponent > 0 ? kInfinity : 0.0;
}

double radix_value(std::string_view digits, int radix) noexcept {
  if (digits.empty()) return kNaN;
  double value = 0;
  for (char c : digits) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return kNaN;
    if (d >= radix) return kNaN;
    value = value * radix + d;
  }
  return value;
}

std::size_t sequence_length(std::string_view s, std::size_t i) noexcept {
  auto b = static_cast<unsigned char>(s[i]);
  std::size_t n = b < 0x80           ? 1
                  : (b >> 5) == 0x6  ? 2
                  : (b >> 4) == 0xe  ? 3
                  : (b >> 3) == 0x1e ? 4
                                     : 1;
  if (i + n > s.size()) return 1;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 1;
  }
  return n;
}

}  // namespace

std::size_t format_number(double value, char* out) {
  if (std::isnan(value)) {
    std::memcpy(out, "NaN", 3);
    return 3;
  }
  if (std::isinf(value)) {
    const char* text = value > 0 ? "Infinity" : "-Infinity";
    std::size_t n = std::strlen(text);
    std::memcpy(out, text, n);
    return n;
  }
  if (value == 0) {
    out[0] = '0';
    return 1;
  }
  char sci[kNumberBufferSize];
  auto result =
      std::to_chars(sci, sci + sizeof sci, std::fabs(value), std::chars_format::scientific);
  std::string_view text(sci, static_cast<std::size_t>(result.ptr - sci));
  // text is "d[.ddd]e[+-]xx": collect the digits and the exponent.
  char digits[20];
  int k = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] != 'e'; ++i) {
    if (text[i] != '.') digits[k++] = text[i];
  }
  int exponent = 0;
  std::from_chars(text.data() + i + (text[i + 1] == '+' ? 2 : 1), text.data() + text.size(),
                  exponent);
  int n = exponent + 1;  // position of the decimal point relative to the digits
  char* p = out;
  if (value < 0) *p++ = '-';
  if (k <= n && n <= 21) {
    std::memcpy(p, digits, static_cast<std::size_t>(k));
    p += k;
    for (int z = 0; z < n - k; ++z) *p++ = '0';
  } else if (0 < n && n <= 21) {
    std::memcpy(p, digits, static_cast<std::size_t>(n));
    p += n;
    *p++ = '.';
    std::memcpy(p, digits + n, static_cast<std::size_t>(k - n));
    p += k - n;
  } else if (-6 < n && n <= 0) {
    *p++ = '0';
    *p++ = '.';
    for (int z = 0; z < -n; ++z) *p++ = '0';
    std::memcpy(p, digits, static_cast<std::size_t>(k));
    p += k;
  } else {
    *p++ = digits[0];
    if (k > 1) {
      *p++ = '.';
      std::memcpy(p, digits + 1, static_cast<std::size_t>(k - 1));
      p += k - 1;
    }
    *p++ = 'e';
    *p++ = n - 1 >= 0 ? '+' : '-';
    p = std::to_chars(p, out + kNumberBufferSize, n - 1 >= 0 ? n - 1 : 1 - n).ptr;
  }
  return static_cast<std::size_t>(p - out);
}

double string_to_number(std::string_view text) noexcept {
  text = trim(text);
  if (text.empty()) return 0;
  if (text.size() > 2 && text[0] == '0') {
    char prefix = text[1];
    if (prefix == 'x' || prefix == 'X') return radix_value(text.substr(2), 16);
    if (prefix == 'o' || prefix == 'O') return radix_value(text.substr(2), 8);
    if (prefix == 'b' || prefix == 'B') return radix_value(text.substr(2), 2);
  }
  bool negative = false;
  if (text[0] == '+' || text[0] == '-') {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  double value;
  if (text == "Infinity") {
    value = kInfinity;
  } else {
    std::size_t n = decimal_prefix(text);
    if (n == 0 || n != text.size()) return kNaN;
    value = decimal_value(text);
  }
  return negative ? -value : value;
}

double parse_float(std::string_view text) noexcept {
  text = trim_start(text);
  bool negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  double value;
  if (text.substr(0, 8) == "Infinity") {
    value = kInfinity;
  } else {
    std::size_t n = decimal_prefix(text);
    if (n == 0) return kNaN;
    value = decimal_value(text.substr(0, n));
  }
  return negative ? -value : value;
}

std::size_t code_point_count(std::string_view text) noexcept {
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size(); i += sequence_length(text, i)) ++count;
  return count;
}

std::size_t utf16_length(std::string_view text) noexcept {
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t n = sequence_length(text, i);
    count += n == 4 ? 2 : 1;
    i += n;
  }
  return count;
}

std::size_t code_point_offset(std::string_view text, std::size_t index) noexcept {
  std::size_t i = 0;
  for (; i < text.size() && index > 0; --index) i += sequence_length(text, i);
  return i;
}

bool parse_array_index(std::string_view segment, std::uint32_t& index) noexcept {
  if (segment.empty() || segment.size() > 10) return false;
  if (segment.size() > 1 && segment[0] == '0') return false;
  std::uint64_t value = 0;
  for (char c : segment) {
    if (!is_digit(c)) return false;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value >= 0xffffffffu) return false;
  index = static_cast<std::uint32_t>(value);
  return true;
}

}  // namespace loyalty::rules::detail
