#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace loyalty {

/// An amount of money in minor units (cents). Never floating point.
using MinorUnits = std::int64_t;

/// The largest amount of money accepted anywhere one enters (an event's amount, a reward's cost
/// or discount, a budget's total and each top-up): 10^12 minor units, 10,000,000,000.00 in the
/// currency. Larger amounts are Error(invalid) — 422 on the API, exit 2 from the CLI. Below it,
/// a sum of a few million amounts still fits in 64 bits, and every sum is checked all the same.
inline constexpr MinorUnits kMaxAmount = 1'000'000'000'000;

/// The largest number of points one reward credits (and so one refund or expiry debits).
inline constexpr std::int64_t kMaxPoints = 1'000'000'000;

/// Parses a decimal string such as "12.50", "12.5", "12" or "-3.05" into minor units.
/// Throws Error(invalid, "amount-too-large") when its magnitude is above kMaxAmount, and
/// Error(invalid) on anything else that is not such a string: more than two decimals, exponents,
/// spaces.
MinorUnits parse_amount(std::string_view text);

/// Formats minor units as a decimal string with two decimals: 1250 → "12.50", -5 → "-0.05".
std::string format_amount(MinorUnits amount);

/// True for the currencies the product supports: "USD" and "ZWG".
bool is_supported_currency(std::string_view code) noexcept;

/// a + b, a - b and a * b for money and points: exact, or Error(invalid, "amount-out-of-range")
/// when the result does not fit in 64 bits (never a wrapped value). `pointer` names the field
/// the error is about, e.g. "/amount"; none when empty.
std::int64_t checked_add(std::int64_t a, std::int64_t b, std::string_view pointer = "");
std::int64_t checked_sub(std::int64_t a, std::int64_t b, std::string_view pointer = "");
std::int64_t checked_mul(std::int64_t a, std::int64_t b, std::string_view pointer = "");

/// `value` × `part` ÷ `whole`, the share of `value` that `part` is of `whole`, computed exactly
/// in 128 bits and rounded down (toward zero), so a share is never more than its exact value:
/// pro_rata(10, 1, 3) == 3, pro_rata(10, 2, 3) == 6. Requires value >= 0 and 0 <= part <= whole,
/// whole > 0, else Error(invalid); the result is then between 0 and value.
///
/// A partial refund of `part` of an event of `whole` debits pro_rata(points, part, whole) of the
/// points it earned.
std::int64_t pro_rata(std::int64_t value, std::int64_t part, std::int64_t whole);

}  // namespace loyalty
