#include <loyalty/core/error.hpp>
#include <loyalty/core/money.hpp>

#include <limits>

namespace loyalty {

MinorUnits parse_amount(std::string_view text) {
  auto fail = [&]() -> MinorUnits {
    throw_invalid("amount must be a decimal string with at most two decimals, e.g. \"12.50\"");
  };
  if (text.empty() || text.size() > 20) return fail();
  bool negative = false;
  std::size_t i = 0;
  if (text[0] == '-') {
    negative = true;
    i = 1;
  }
  constexpr MinorUnits kMax = std::numeric_limits<MinorUnits>::max() / 100 - 1;
  MinorUnits whole = 0;
  std::size_t digits = 0;
  for (; i < text.size() && text[i] != '.'; ++i, ++digits) {
    char c = text[i];
    if (c < '0' || c > '9') return fail();
    whole = whole * 10 + (c - '0');
    if (whole > kMax) return fail();
  }
  if (digits == 0) return fail();
  MinorUnits cents = 0;
  if (i < text.size()) {
    ++i;  // the '.'
    std::size_t decimals = text.size() - i;
    if (decimals == 0 || decimals > 2) return fail();
    for (std::size_t k = 0; k < decimals; ++k) {
      char c = text[i + k];
      if (c < '0' || c > '9') return fail();
      cents = cents * 10 + (c - '0');
    }
    if (decimals == 1) cents *= 10;
  }
  MinorUnits value = whole * 100 + cents;
  return negative ? -value : value;
}

std::string format_amount(MinorUnits amount) {
  bool negative = amount < 0;
  // Work in unsigned so the most negative value formats too.
  unsigned long long magnitude = negative ? 0ULL - static_cast<unsigned long long>(amount)
                                          : static_cast<unsigned long long>(amount);
  std::string out = std::to_string(magnitude / 100);
  unsigned long long cents = magnitude % 100;
  out += '.';
  out += static_cast<char>('0' + cents / 10);
  out += static_cast<char>('0' + cents % 10);
  return negative ? "-" + out : out;
}

bool is_supported_currency(std::string_view code) noexcept {
  return code == "USD" || code == "ZWG";
}

}  // namespace loyalty
