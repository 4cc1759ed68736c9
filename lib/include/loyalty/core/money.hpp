#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace loyalty {

/// An amount of money in minor units (cents). Never floating point.
using MinorUnits = std::int64_t;

/// The largest amount of money accepted anywhere one enters (an event's amount, a reward's cost
/// or discount, a budget's total and each top-up): 10^12 minor units, 10,000,000,000.00 in the
/// currency. Larger amounts are Error(invalid) — 422 on the API, exit 2 from the CLI.
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

}  // namespace loyalty
