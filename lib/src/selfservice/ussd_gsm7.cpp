// GSM 03.38's default alphabet, which every USSD screen is written in.
#include <loyalty/core/utf8.hpp>
#include <loyalty/selfservice/ussd.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace loyalty::selfservice::ussd {

namespace {

/// The code points of GSM 03.38's default alphabet beyond printable ASCII, and the ASCII it lacks.
constexpr std::array<std::uint32_t, 40> kBasicExtra = {
    0x00A3, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2, 0x00C7, 0x00D8, 0x00F8,
    0x00C5, 0x00E5, 0x0394, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, 0x03A3,
    0x0398, 0x039E, 0x00C6, 0x00E6, 0x00DF, 0x00C9, 0x00A4, 0x00A1, 0x00C4, 0x00D6,
    0x00D1, 0x00DC, 0x00A7, 0x00BF, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0, 0x000A};
constexpr std::string_view kExtension = "^{}\\[~]|";  // and U+20AC, two characters each

/// Decodes the code point at text[i] (valid UTF-8 assumed by the caller), advancing i.
std::uint32_t next_code_point(std::string_view text, std::size_t& i) {
  const std::size_t n = utf8::sequence_at(text, i);
  if (n == 0) {
    ++i;
    return 0xFFFD;
  }
  auto b = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(text[i + k]));
  };
  std::uint32_t cp = n == 1 ? b(0) : n == 2 ? b(0) & 0x1F : n == 3 ? b(0) & 0x0F : b(0) & 0x07;
  for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (b(k) & 0x3F);
  i += n;
  return cp;
}

/// 1 or 2 characters in GSM-7, or 0 when the code point is not in the alphabet.
int gsm7_width(std::uint32_t cp) {
  if (cp == '\r') return 1;
  if (cp < 0x80) {
    if (cp == '`' || cp < 0x20) return cp == '\n' ? 1 : 0;
    if (kExtension.find(static_cast<char>(cp)) != std::string_view::npos) return 2;
    return 1;
  }
  if (cp == 0x20AC) return 2;
  return std::find(kBasicExtra.begin(), kBasicExtra.end(), cp) != kBasicExtra.end() ? 1 : 0;
}

}  // namespace

long gsm7_length(std::string_view text) {
  long total = 0;
  for (std::size_t i = 0; i < text.size();) {
    const int w = gsm7_width(next_code_point(text, i));
    if (w == 0) return -1;
    total += w;
  }
  return total;
}

std::string gsm7_safe(std::string_view text, std::size_t max) {
  std::vector<std::string> chars;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t start = i;
    const std::uint32_t cp = next_code_point(text, i);
    const bool basic = gsm7_width(cp) == 1 && cp != '\n' && cp != '\r';
    chars.push_back(basic ? std::string(text.substr(start, i - start)) : std::string("?"));
  }
  const bool cut = chars.size() > max;
  const std::size_t keep = cut ? (max > 3 ? max - 3 : 0) : chars.size();
  std::string out;
  for (std::size_t i = 0; i < keep; ++i) out += chars[i];
  return cut ? out + std::string("...").substr(0, max - keep) : out;
}

}  // namespace loyalty::selfservice::ussd
