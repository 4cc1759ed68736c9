// libFuzzer target for what a USSD gateway sends (selfservice::ussd::parse_callback,
// parse_session_end, inputs) and the GSM 03.38 functions every screen goes through. The input is
// a form body as POSTed to /public/ussd/callback once the secret matched. A body may be refused
// only with loyalty::Error(invalid, "malformed-callback"); any other exception, a crash, a leak,
// UB or a broken promise checked below is a finding.
//
//   scripts/fuzz ussd_callback
#include <loyalty/core/error.hpp>
#include <loyalty/core/form.hpp>
#include <loyalty/core/utf8.hpp>
#include <loyalty/selfservice/ussd.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

namespace ussd = loyalty::selfservice::ussd;

void check(bool promise) {
  if (!promise) __builtin_trap();
}

bool refused_properly(const loyalty::Error& e) {
  return e.code() == loyalty::ErrorCode::invalid && e.type() == "malformed-callback";
}

/// A field the parser kept: storable and loggable as it is.
void check_field(const std::string& value, std::size_t max, bool required) {
  check(!required || !value.empty());
  check(value.size() <= max);
  check(loyalty::utf8::valid(value));
  check(std::none_of(value.begin(), value.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }));
}

/// What a screen does with a text a customer or merchant chose.
void check_gsm7(std::string_view text) {
  if (!loyalty::utf8::valid(text)) return;  // the parser lets only UTF-8 through
  for (const std::size_t max : {std::size_t{0}, std::size_t{3}, std::size_t{20}}) {
    const std::string safe = ussd::gsm7_safe(text, max);
    const long length = ussd::gsm7_length(safe);
    check(length >= 0 && static_cast<std::size_t>(length) <= max);
    check(loyalty::utf8::valid(safe));
  }
  (void)ussd::gsm7_length(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(bytes), size);
  // The decoder takes anything; encoding what it decoded and decoding again gives it back.
  const auto fields = loyalty::form_decode(body);
  check(loyalty::form_decode(loyalty::form_encode(fields)) == fields);

  try {
    const ussd::Request r = ussd::parse_callback(body);
    check(size <= ussd::kMaxCallbackBytes);
    check_field(r.session_id, ussd::kMaxField, true);
    check_field(r.service_code, ussd::kMaxField, true);
    check_field(r.text, ussd::kMaxText, false);
    check(r.phone.empty() || (r.phone.front() == '+' && r.phone.size() <= 16 &&
                              std::all_of(r.phone.begin() + 1, r.phone.end(),
                                          [](char c) { return c >= '0' && c <= '9'; })));
    // The inputs put back together are the text; none holds a '*'.
    const auto inputs = ussd::inputs(r.text);
    std::string joined;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      check(inputs[i].find('*') == std::string::npos);
      joined += (i ? "*" : "") + inputs[i];
    }
    check(joined == r.text);
    check(r.text.empty() == inputs.empty());
    check_gsm7(r.text);
  } catch (const loyalty::Error& e) {
    check(refused_properly(e));
  }

  try {
    const ussd::SessionEnd e = ussd::parse_session_end(body);
    check_field(e.session_id, ussd::kMaxField, true);
    check_field(e.service_code, ussd::kMaxField, true);
    check(e.status.size() <= 20 && loyalty::utf8::valid(e.status));
    check(e.error_message.size() <= 200 && loyalty::utf8::valid(e.error_message));
  } catch (const loyalty::Error& e) {
    check(refused_properly(e));
  }
  check_gsm7(body.substr(0, 256));
  return 0;
}
