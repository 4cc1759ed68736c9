#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace loyalty {

/// An amount of money in minor units (cents). Never floating point.
using MinorUnits = std::int64_t;

/// Parses a decimal string such as "12.50", "12.5", "12" or "-3.05" into minor units.
/// Throws Error(invalid) on anything else: more than two decimals, exponents, spaces, overflow.
MinorUnits parse_amount(std::string_view text);

/// Formats minor units as a decimal string with two decimals: 1250 → "12.50", -5 → "-0.05".
std::string format_amount(MinorUnits amount);

/// True for the currencies the product supports: "USD" and "ZWG".
bool is_supported_currency(std::string_view code) noexcept;

}  // namespace loyalty
