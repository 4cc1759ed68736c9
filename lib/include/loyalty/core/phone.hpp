#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace loyalty {

/// Region assumed for numbers written without a country code.
inline constexpr std::string_view kDefaultPhoneRegion = "ZW";

/// Normalises a phone number as typed (e.g. "0771 234 567", "+263 77 123 4567",
/// "263771234567", "00263771234567") to E.164 ("+263771234567") with libphonenumber, reading
/// numbers without a country code as numbers of `default_region` (ISO 3166 alpha-2).
/// std::nullopt when the text is not a valid, dialable number of a known region (wrong length,
/// unallocated range, an extension, letters only, over 64 characters). Thread-safe.
std::optional<std::string> try_normalize_phone(
    std::string_view input, std::string_view default_region = kDefaultPhoneRegion);

/// Like try_normalize_phone(), but throws Error(invalid) with one FieldError at `field_pointer`
/// (a JSON pointer such as "/phone") when the number is not valid; the message does not echo
/// the number.
std::string normalize_phone(std::string_view input, std::string_view field_pointer,
                            std::string_view default_region = kDefaultPhoneRegion);

}  // namespace loyalty
