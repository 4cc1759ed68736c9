// What the Graph API's answers to POST /{phone_number_id}/messages mean.
//
// The codes are Meta's (developers.facebook.com, WhatsApp Cloud API "Error codes"): the Graph
// API answers most errors with HTTP 400 and the kind in error.code, so a rate limit can come as
// a 400 and must be told apart from a request that will never succeed.
#include <loyalty/whatsapp/graph_client.hpp>

#include "whatsapp/json_read.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

namespace loyalty::whatsapp {

namespace {

using detail::integer_at;
using detail::object_at;
using detail::string_or_empty;
using nlohmann::json;

struct Code {
  std::int64_t code;
  SendStatus status;
  std::string_view title;
};

constexpr auto R = SendStatus::retryable;
constexpr auto P = SendStatus::permanent;

// Sorted by code.
constexpr std::array kCodes = {
    Code{0, P, "authentication failed (the access token is invalid or expired)"},
    Code{1, R, "unknown API error (temporary)"},
    Code{2, R, "API service temporarily unavailable"},
    Code{3, P, "the app lacks the capability or permission"},
    Code{4, R, "too many calls from the app (rate limit)"},
    Code{10, P, "permission denied"},
    Code{33, P, "the phone number id does not exist or is not reachable with this token"},
    Code{100, P, "invalid parameter"},
    Code{190, P, "the access token has expired or is invalid"},
    Code{200, P, "permission denied"},
    Code{368, P, "temporarily blocked for policy violations"},
    Code{80007, R, "the WhatsApp Business Account's rate limit was reached"},
    Code{130429, R, "the phone number's throughput was reached (rate limit)"},
    Code{130472, P, "the customer's number is part of an experiment"},
    Code{131000, R, "something went wrong at Meta (temporary)"},
    Code{131005, P, "access denied"},
    Code{131008, P, "a required parameter is missing"},
    Code{131009, P, "a parameter value is not valid"},
    Code{131016, R, "the service is overloaded or unavailable"},
    Code{131021, P, "the recipient is the sender"},
    Code{131026, P, "message undeliverable (not a WhatsApp user, or cannot receive it)"},
    Code{131031, P, "the business account is locked"},
    Code{131042, P, "a payment problem with the business account"},
    Code{131045, P, "the phone number's certificate is wrong"},
    Code{131047, SendStatus::window_closed,
         "re-engagement: more than 24 hours since the customer wrote, send a template"},
    Code{131048, R, "the spam rate limit was reached"},
    Code{131049, P, "not delivered to keep the ecosystem healthy (marketing limits)"},
    Code{131050, P, "the customer stopped marketing messages"},
    Code{131051, P, "unsupported message type"},
    Code{131052, P, "the media could not be downloaded"},
    Code{131053, P, "the media could not be uploaded"},
    Code{131056, R, "too many messages to this customer in a short time (pair rate limit)"},
    Code{131057, R, "the business account is in maintenance mode"},
    Code{131062, P, "business-scoped user ids cannot receive this message"},
    Code{132000, P, "the template's parameter count does not match"},
    Code{132001, P, "the template does not exist in this language"},
    Code{132005, P, "the template's text is too long once filled in"},
    Code{132007, P, "the template breaks a format or character policy"},
    Code{132012, P, "a template parameter has the wrong format"},
    Code{132015, P, "the template is paused"},
    Code{132016, P, "the template is disabled"},
    Code{133004, R, "the server is temporarily unavailable"},
    Code{133010, P, "the phone number is not registered"},
};

const Code* find_code(std::int64_t code) {
  const auto found = std::lower_bound(kCodes.begin(), kCodes.end(), code,
                                      [](const Code& c, std::int64_t n) { return c.code < n; });
  return found != kCodes.end() && found->code == code ? &*found : nullptr;
}

std::string text_of(const json& value, std::string_view key) {
  return std::string(string_or_empty(value, key));
}

/// The error object of an answer's body, when it has one.
GraphError graph_error(std::string_view body) {
  GraphError error;
  const json parsed = json::parse(body, nullptr, false);
  const json* object = parsed.is_discarded() ? nullptr : object_at(parsed, "error");
  if (object == nullptr) return error;
  error.code = integer_at(*object, "code").value_or(0);
  error.subcode = integer_at(*object, "error_subcode").value_or(0);
  error.type = text_of(*object, "type");
  error.message = text_of(*object, "message");
  error.fbtrace_id = text_of(*object, "fbtrace_id");
  if (const auto* data = object_at(*object, "error_data"))
    error.details = text_of(*data, "details");
  return error;
}

std::string wamid_of(std::string_view body) {
  const json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded()) return "";
  const auto* messages = detail::array_at(parsed, "messages");
  if (messages == nullptr || messages->empty()) return "";
  return text_of(messages->front(), "id");
}

SendResult failed(SendResult result, SendStatus status, std::string detail) {
  result.status = status;
  result.detail = std::move(detail);
  return result;
}

}  // namespace

std::string_view to_string(SendStatus status) noexcept {
  switch (status) {
    case SendStatus::sent:
      return "sent";
    case SendStatus::retryable:
      return "retryable";
    case SendStatus::window_closed:
      return "window_closed";
    case SendStatus::permanent:
      return "permanent";
  }
  return "permanent";
}

std::string_view graph_error_title(std::int64_t code) noexcept {
  if (const Code* found = find_code(code)) return found->title;
  if (code >= 200 && code <= 299) return "permission denied";
  return "";
}

SendResult classify_answer(const outbound::Response& response) {
  SendResult result;
  result.http_status = response.status;
  result.retry_after = response.retry_after;
  result.duration = response.duration;
  if (response.status == 0) {
    // No answer. A refused address is the operator's configuration and no retry changes it.
    if (response.address_refused) return failed(std::move(result), P, response.error);
    return failed(std::move(result), R, response.error.empty() ? "no answer" : response.error);
  }
  if (response.ok()) {
    result.wamid = wamid_of(response.body);
    // Without the id no status webhook can be matched; sending again could deliver twice.
    if (result.wamid.empty()) {
      return failed(std::move(result), P,
                    fmt::format("answered {} without a message id", response.status));
    }
    result.status = SendStatus::sent;
    return result;
  }
  result.error = graph_error(response.body);
  const std::int64_t code = result.error.code;
  const Code* known = find_code(code);
  std::string detail = fmt::format("answered {}", response.status);
  if (code != 0) {
    const auto title = graph_error_title(code);
    detail = title.empty() ? fmt::format("Graph error {} (HTTP {})", code, response.status)
                           : fmt::format("{} {}", code, title);
    if (result.error.subcode != 0) detail += fmt::format(" (subcode {})", result.error.subcode);
  }
  if (response.status == 429 || response.status == 408 || response.status >= 500) {
    // A window or a permanent code inside a 5xx is still the answer of a server in trouble,
    // except re-engagement, which no retry can change.
    if (known != nullptr && known->status == SendStatus::window_closed) {
      return failed(std::move(result), SendStatus::window_closed, std::move(detail));
    }
    return failed(std::move(result), R, std::move(detail));
  }
  if (response.status >= 400 && known != nullptr) {
    return failed(std::move(result), known->status, std::move(detail));
  }
  if (response.status >= 300 && response.status < 400) detail += " (redirects are not followed)";
  return failed(std::move(result), P, std::move(detail));
}

std::optional<std::chrono::milliseconds> retry_delay(const SendResult& result,
                                                     const outbound::RetrySchedule& schedule,
                                                     int failed_attempts) {
  if (result.status != SendStatus::retryable) return std::nullopt;
  return outbound::next_retry(schedule, failed_attempts, result.retry_after);
}

}  // namespace loyalty::whatsapp
