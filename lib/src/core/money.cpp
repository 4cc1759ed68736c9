#include <loyalty/core/error.hpp>
#include <loyalty/core/money.hpp>

namespace loyalty {

namespace {

__extension__ typedef __int128 Int128;  // GCC and Clang; -Wpedantic knows no 128-bit type

[[noreturn]] void out_of_range(std::string_view pointer) {
  std::vector<FieldError> fields;
  if (!pointer.empty()) {
    fields.push_back({std::string(pointer), "the result is too large to compute"});
  }
  throw Error(ErrorCode::invalid, "amount-out-of-range",
              "an amount or a number of points is too large to compute", std::move(fields));
}

}  // namespace

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

std::int64_t checked_add(std::int64_t a, std::int64_t b, std::string_view pointer) {
  std::int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) out_of_range(pointer);
  return out;
}

std::int64_t checked_sub(std::int64_t a, std::int64_t b, std::string_view pointer) {
  std::int64_t out = 0;
  if (__builtin_sub_overflow(a, b, &out)) out_of_range(pointer);
  return out;
}

std::int64_t checked_mul(std::int64_t a, std::int64_t b, std::string_view pointer) {
  std::int64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) out_of_range(pointer);
  return out;
}

std::int64_t pro_rata(std::int64_t value, std::int64_t part, std::int64_t whole) {
  if (value < 0 || part < 0 || whole <= 0 || part > whole) {
    throw_invalid("a pro-rata share needs 0 <= part <= whole, whole > 0 and a value >= 0");
  }
  // value * part < 2^63 * 2^63 = 2^126: exact in 128 bits; the quotient is at most value.
  Int128 product = static_cast<Int128>(value) * part;
  return static_cast<std::int64_t>(product / whole);
}

}  // namespace loyalty
