// What a USSD gateway sends: its form bodies read and checked before anything else sees them.
#include <loyalty/core/error.hpp>
#include <loyalty/core/form.hpp>
#include <loyalty/core/phone.hpp>
#include <loyalty/core/utf8.hpp>
#include <loyalty/selfservice/ussd.hpp>

#include <algorithm>
#include <map>

namespace loyalty::selfservice::ussd {

namespace {

[[noreturn]] void malformed(const std::string& detail, const std::string& field) {
  std::vector<FieldError> fields;
  if (!field.empty()) fields.push_back({"/" + field, detail});
  throw Error(ErrorCode::invalid, "malformed-callback", detail, std::move(fields));
}

/// The form's fields by name (the first of each), every one checked: UTF-8, and no control
/// characters but in the gateway's errorMessage (cut to a log line later).
std::map<std::string, std::string> fields_of(std::string_view form) {
  if (form.size() > kMaxCallbackBytes) malformed("a USSD callback is a few short fields", "");
  std::map<std::string, std::string> out;
  for (auto& [name, value] : form_decode(form)) {
    if (!utf8::valid(value) || !utf8::valid(name)) {
      malformed("the field is not valid UTF-8", utf8::valid(name) ? name : "");
    }
    const bool controls = std::any_of(value.begin(), value.end(), [](char c) {
      return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    if (controls && name != "errorMessage") malformed("the field holds a control character", name);
    out.emplace(std::move(name), std::move(value));
  }
  return out;
}

std::string required(const std::map<std::string, std::string>& f, const char* name,
                     std::size_t max) {
  auto it = f.find(name);
  if (it == f.end() || it->second.empty()) malformed(std::string(name) + " is required", name);
  if (it->second.size() > max) malformed(std::string(name) + " is too long", name);
  return it->second;
}

std::string optional(const std::map<std::string, std::string>& f, const char* name) {
  auto it = f.find(name);
  return it == f.end() ? std::string() : it->second;
}

}  // namespace

Request parse_callback(std::string_view form) {
  const auto f = fields_of(form);
  Request r;
  r.session_id = required(f, "sessionId", kMaxField);
  r.service_code = required(f, "serviceCode", kMaxField);
  const std::string raw_phone = required(f, "phoneNumber", kMaxField);
  r.text = optional(f, "text");
  if (r.text.size() > kMaxText) malformed("text is too long", "text");
  // Gateways send the number with or without '+'.
  r.phone = try_normalize_phone(raw_phone.front() == '+' ? raw_phone : "+" + raw_phone)
                .value_or(std::string());
  return r;
}

SessionEnd parse_session_end(std::string_view form) {
  const auto f = fields_of(form);
  SessionEnd e;
  e.session_id = required(f, "sessionId", kMaxField);
  e.service_code = required(f, "serviceCode", kMaxField);
  e.status = utf8::storable(optional(f, "status"), 20);
  e.error_message = utf8::storable(optional(f, "errorMessage"), 200);
  return e;
}

std::vector<std::string> inputs(std::string_view text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  std::size_t from = 0;
  while (true) {
    const auto star = text.find('*', from);
    out.emplace_back(
        text.substr(from, star == std::string_view::npos ? std::string_view::npos : star - from));
    if (star == std::string_view::npos) return out;
    from = star + 1;
  }
}

}  // namespace loyalty::selfservice::ussd
