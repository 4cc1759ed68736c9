#include <loyalty/core/phone.hpp>

#include <loyalty/core/error.hpp>

#include <phonenumbers/logger.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <cctype>

namespace loyalty {
namespace {

using i18n::phonenumbers::NullLogger;
using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

constexpr std::size_t kMaxPhoneInputLength = 64;

// libphonenumber logs parse problems to stdout/stderr by default, with the number in them;
// the library's own logger must stay silent. SetLogger takes ownership of the logger, and is
// done once, before any other thread can use the instance through this function.
PhoneNumberUtil& phone_util() {
  static PhoneNumberUtil* const util = [] {
    PhoneNumberUtil* instance = PhoneNumberUtil::GetInstance();
    instance->SetLogger(new NullLogger());
    return instance;
  }();
  return *util;
}

}  // namespace

std::optional<std::string> try_normalize_phone(std::string_view input,
                                               std::string_view default_region) {
  if (input.empty() || input.size() > kMaxPhoneInputLength) return std::nullopt;
  // libphonenumber only knows upper-case region codes.
  std::string region(default_region);
  for (auto& c : region) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  PhoneNumberUtil& util = phone_util();
  PhoneNumber number;
  if (util.Parse(std::string(input), region, &number) != PhoneNumberUtil::NO_PARSING_ERROR) {
    return std::nullopt;
  }
  // E.164 has no room for an extension; a customer's phone with one is a typing mistake.
  if (number.has_extension() || !util.IsValidNumber(number)) return std::nullopt;
  std::string e164;
  util.Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

std::string normalize_phone(std::string_view input, std::string_view field_pointer,
                            std::string_view default_region) {
  auto normalized = try_normalize_phone(input, default_region);
  if (!normalized) {
    throw_invalid("phone number is not valid",
                  {FieldError{std::string(field_pointer),
                              "not a valid phone number; use international form such as "
                              "+263771234567 or a local number such as 0771 234 567"}});
  }
  return std::move(*normalized);
}

}  // namespace loyalty
