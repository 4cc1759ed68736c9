#include <loyalty/core/utf8.hpp>

#include <cstdint>
#include <vector>

namespace loyalty::utf8 {

std::size_t sequence_at(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  std::size_t n = 0;
  std::uint32_t min = 0;
  std::uint32_t cp = 0;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

bool valid(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = sequence_at(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string storable(std::string_view text, std::size_t max_bytes) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  for (std::size_t i = 0; i < text.size();) {
    std::size_t n = sequence_at(text, i);
    const bool keep = n > 0 && text[i] != '\0';
    const std::string_view piece = keep ? text.substr(i, n) : kReplacement;
    if (out.size() + piece.size() > max_bytes) break;
    out += piece;
    i += keep ? n : 1;
  }
  return out;
}

std::string shortened(std::string_view text, std::size_t max_chars) {
  std::vector<std::string_view> chars;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = sequence_at(text, i);
    if (n == 0) {
      ++i;
      continue;
    }
    chars.push_back(text.substr(i, n));
    i += n;
  }
  std::string out;
  if (chars.size() <= max_chars) {
    for (auto c : chars) out += c;
    return out;
  }
  if (max_chars == 0) return out;
  for (std::size_t i = 0; i + 1 < max_chars; ++i) out += chars[i];
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out + "\u2026";
}

}  // namespace loyalty::utf8
