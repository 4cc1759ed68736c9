#include <loyalty/core/error.hpp>
#include <loyalty/core/money.hpp>

namespace loyalty {

MinorUnits parse_amount(std::string_view text) {
  auto fail = [&]() -> MinorUnits {
    throw_invalid("amount must be a decimal string with at most two decimals, e.g. \"12.50\"");
  };
  auto too_large = [&]() -> MinorUnits {
    throw Error(ErrorCode::invalid, "amount-too-large",
                "amount must be at most " + format_amount(kMaxAmount));
  };
  if (text.empty() || text.size() > 64) return fail();
  bool negative = false;
  std::size_t i = 0;
  if (text[0] == '-') {
    negative = true;
    i = 1;
  }
  // Digits are read on past the ceiling (so "1e5" and "99999999999999x" stay syntax errors), but
  // the value stops growing there: no overflow, whatever the length.
  constexpr MinorUnits kWholeCeiling = kMaxAmount / 100;
  MinorUnits whole = 0;
  bool above = false;
  std::size_t digits = 0;
  for (; i < text.size() && text[i] != '.'; ++i, ++digits) {
    char c = text[i];
    if (c < '0' || c > '9') return fail();
    if (!above) whole = whole * 10 + (c - '0');
    if (whole > kWholeCeiling) above = true;
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
  if (above) return too_large();
  MinorUnits value = whole * 100 + cents;  // at most (kMaxAmount / 100) * 100 + 99
  if (value > kMaxAmount) return too_large();
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
