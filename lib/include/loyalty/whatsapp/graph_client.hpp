#pragma once
// Sending message bodies (whatsapp/outbound.hpp) to the Graph API and telling what its answer
// means: sent (with the wamid that status webhooks will name), worth another attempt, outside
// the customer-service window (send a template instead), or failed for good.

#include <loyalty/outbound/address.hpp>
#include <loyalty/outbound/http_client.hpp>
#include <loyalty/outbound/retry.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace loyalty::whatsapp {

struct GraphOptions {
  /// Where the API is: messages go to {api_base}/{phone_number_id}/messages. Operator
  /// configuration (--whatsapp-api-base); tests point it at a fake on 127.0.0.1.
  std::string api_base = "https://graph.facebook.com/v25.0";
  /// Which addresses api_base may reach: http and private addresses only when this allows them.
  outbound::AddressPolicy policy;
  std::chrono::milliseconds timeout{10000};  ///< per attempt, connect included
  std::size_t max_in_flight = 64;            ///< sends in progress at once
};

enum class SendStatus {
  sent,       ///< accepted by Meta (not yet delivered: status webhooks tell that)
  retryable,  ///< no answer, 5xx, 429 or a Graph rate-limit/temporary code: try again later
  /// 131047 (re-engagement): more than 24 hours since the customer last wrote; only a template
  /// message can reach them now.
  window_closed,
  permanent,  ///< a 4xx Graph error (not a WhatsApp user, invalid parameter, bad token, ...)
};

/// "sent", "retryable", "window_closed", "permanent".
std::string_view to_string(SendStatus status) noexcept;

/// The Graph API's error object: {"error":{"message","type","code","error_subcode",
/// "error_data":{"details"},"fbtrace_id"}}.
struct GraphError {
  std::int64_t code = 0;  ///< 0 when the answer carried no error object
  std::int64_t subcode = 0;
  std::string type;     ///< "OAuthException"
  std::string message;  ///< Meta's text; may quote the request (a phone number): not for logs
  std::string details;  ///< error_data.details; likewise
  std::string fbtrace_id;
};

/// What one attempt came to.
struct SendResult {
  SendStatus status = SendStatus::retryable;
  std::string wamid;    ///< messages[0].id of a sent message
  int http_status = 0;  ///< 0 when no answer came
  GraphError error;
  /// One line for the operator and the logs, without anything from the request: "131026
  /// message undeliverable (not a WhatsApp user, or cannot receive it)", "answered 503",
  /// "timed out after 10 s", "address refused: loopback". Empty when sent.
  std::string detail;
  std::int64_t retry_after = -1;  ///< the answer's Retry-After in seconds, else -1
  std::chrono::milliseconds duration{0};
};

/// What an answer (or its absence) from POST .../messages means. Pure; never throws.
SendResult classify_answer(const outbound::Response& response);

/// A short description of a documented Graph error code ("message undeliverable (...)"), or
/// "" for a code not in the table.
std::string_view graph_error_title(std::int64_t code) noexcept;

/// The wait before the next attempt of a retryable result after `failed_attempts` failures,
/// at least its Retry-After (outbound::next_retry); std::nullopt when the result is final or
/// the schedule is used up.
std::optional<std::chrono::milliseconds> retry_delay(const SendResult& result,
                                                     const outbound::RetrySchedule& schedule,
                                                     int failed_attempts);

/// Sends message bodies to the Graph API with `Authorization: Bearer <token>`; the token goes
/// into that header only, never into a log line, a detail or an error. Thread-safe.
class GraphClient {
 public:
  /// Throws Error(invalid, "whatsapp-api-base-invalid") when api_base is not an absolute
  /// https URL (or http, when the policy allows it) without query or fragment. Addresses are
  /// vetted against the policy at each connection (refused: a permanent result).
  explicit GraphClient(GraphOptions options);
  ~GraphClient();
  GraphClient(const GraphClient&) = delete;
  GraphClient& operator=(const GraphClient&) = delete;

  /// One attempt, waiting for its outcome. Throws Error(invalid) when phone_number_id is not
  /// digits or the token is empty or not printable ASCII (configuration, not an answer).
  /// Must not be called from a submit callback.
  SendResult send(std::string_view phone_number_id, std::string_view access_token,
                  const nlohmann::json& body);

  /// One attempt without waiting: `done` runs once, on the HTTP client's thread, and must be
  /// quick. False (and `done` never runs) when the client's queue is full. Throws as send().
  bool submit(std::string_view phone_number_id, std::string_view access_token,
              const nlohmann::json& body, std::function<void(SendResult)> done);

  /// Attempts until the message is sent or the result is final, sleeping retry_delay()
  /// between attempts (so Retry-After is honoured); for callers without a queue of their own
  /// (a CLI test send). `attempts`, when given, receives the number of attempts made.
  SendResult send_with_retries(std::string_view phone_number_id, std::string_view access_token,
                               const nlohmann::json& body, const outbound::RetrySchedule& schedule,
                               int* attempts = nullptr);

  /// {api_base}/{phone_number_id}/messages.
  std::string messages_url(std::string_view phone_number_id) const;

 private:
  outbound::Request request(std::string_view phone_number_id, std::string_view access_token,
                            const nlohmann::json& body) const;

  GraphOptions options_;
  std::unique_ptr<outbound::HttpClient> http_;
};

}  // namespace loyalty::whatsapp
