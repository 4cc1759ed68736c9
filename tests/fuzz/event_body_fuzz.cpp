// libFuzzer target for what POST /v1/tenants/{tid}/events does with its body before the
// database: the daemon's JSON body parser (loyaltyd::parse_json_body, with the route's field
// list) and then the library's validation of an event (events::parse_event_request) and the
// data the rules see (events::rule_data). The input is the Idempotency-Key header's value, a
// newline, and the body. Both steps may refuse only with loyalty::Error(invalid); any other
// exception, a crash, a leak, UB or a broken promise checked below is a finding.
//
//   scripts/fuzz event_body
#include "body.hpp"
#include "events/request.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/core/money.hpp>

#include <cstddef>
#include <cstdint>
#include <regex>
#include <string>
#include <string_view>

namespace {

void check(bool promise) {
  if (!promise) __builtin_trap();
}

// Every refusal names the fields it refuses and renders as problem+json (whose dump() throws on
// invalid UTF-8: that would be a 500 instead of a 400 or 422).
void check_refusal(const loyalty::Error& e) {
  check(e.code() == loyalty::ErrorCode::invalid);
  nlohmann::json problem = {{"type", e.type()}, {"detail", e.what()}};
  for (const auto& field : e.fields()) {
    check(!field.pointer.empty() && field.pointer[0] == '/');
    problem["errors"].push_back({{"pointer", field.pointer}, {"message", field.message}});
  }
  (void)problem.dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(bytes), size);
  const std::size_t newline = input.find('\n');
  const std::string header_key(input.substr(0, newline));
  const std::string body(newline == std::string_view::npos ? std::string_view()
                                                           : input.substr(newline + 1));

  nlohmann::json parsed;
  try {
    parsed = loyaltyd::parse_json_body(
        "application/json", body, {"customer", "type", "occurred_at", "data", "idempotency_key"});
  } catch (const loyalty::Error& e) {
    check_refusal(e);
    return 0;
  }
  check(parsed.is_object());

  loyalty::events::EventRequest request;
  try {
    request = loyalty::events::parse_event_request(parsed, header_key);
  } catch (const loyalty::Error& e) {
    check_refusal(e);
    check(!e.fields().empty());
    return 0;
  }
  // What the pipeline relies on once the request is accepted.
  static const std::regex kType("^[a-z][a-z0-9_.]{0,63}$");
  check(std::regex_match(request.type, kType));
  check(request.customer.id || request.customer.phone || request.customer.external_ref);
  check(!request.idempotency_key.empty() && request.idempotency_key.size() <= 200);
  check(request.request_hash.size() == 64);
  check(!request.amount || (*request.amount >= 0 && request.currency));
  check(request.type != "refund" || request.original_event_id);
  check(request.data.is_object());

  const nlohmann::json customer = {{"id", "c"}, {"tags", nlohmann::json::array()}};
  const nlohmann::json data = loyalty::events::rule_data(request, customer);
  check(data["event"]["type"] == request.type);
  (void)data.dump();  // the rules cache keys and logs print it: must not throw
  return 0;
}
