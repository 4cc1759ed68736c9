#include <loyalty/whatsapp/graph_client.hpp>

#include "outbound/curl_support.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/log/log.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>
#include <utility>

namespace loyalty::whatsapp {

namespace {

/// Graph error bodies with error_data run to a few hundred bytes; keep them whole.
constexpr std::size_t kKeptAnswerBytes = 64 * 1024;

std::string without_trailing_slashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

void check_api_base(const std::string& api_base, const outbound::AddressPolicy& policy) {
  const auto refuse = [&](const std::string& why) {
    throw loyalty::Error(ErrorCode::invalid, "whatsapp-api-base-invalid",
                         "the WhatsApp API base " + why);
  };
  const auto parts = outbound::detail::parse_url(api_base);
  if (!parts || parts->host.empty()) refuse("is not an absolute URL");
  if (parts->scheme != "https" && !(parts->scheme == "http" && policy.allow_http)) {
    refuse(policy.allow_http ? "is not an http(s) URL" : "is not an https URL");
  }
  if (api_base.find_first_of("?#") != std::string::npos) {
    refuse("has a query or a fragment");
  }
}

bool digits(std::string_view text) {
  return !text.empty() && text.size() <= 64 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// RFC 6750 allows a token68 in the header; Meta's tokens are letters and digits. Anything
/// outside visible ASCII could split the header.
bool header_safe(std::string_view token) {
  return !token.empty() &&
         std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

void log_result(std::string_view phone_number_id, const SendResult& result) {
  spdlog::debug(
      R"("msg":"whatsapp.send","phone_number_id":{},"result":{},"http_status":{},"code":{},)"
      R"("duration_ms":{},"detail":{})",
      log::quote(phone_number_id), log::quote(to_string(result.status)), result.http_status,
      result.error.code, result.duration.count(), log::quote(result.detail));
}

}  // namespace

GraphClient::GraphClient(GraphOptions options) : options_(std::move(options)) {
  options_.api_base = without_trailing_slashes(options_.api_base);
  check_api_base(options_.api_base, options_.policy);
  outbound::ClientOptions client;
  client.policy = options_.policy;
  client.max_in_flight = std::max<std::size_t>(1, options_.max_in_flight);
  client.max_per_destination = client.max_in_flight;
  client.keep_body_bytes = kKeptAnswerBytes;
  http_ = std::make_unique<outbound::HttpClient>(std::move(client));
}

GraphClient::~GraphClient() = default;

std::string GraphClient::messages_url(std::string_view phone_number_id) const {
  return options_.api_base + "/" + std::string(phone_number_id) + "/messages";
}

outbound::Request GraphClient::request(std::string_view phone_number_id,
                                       std::string_view access_token,
                                       const nlohmann::json& body) const {
  if (!digits(phone_number_id)) {
    throw loyalty::Error(ErrorCode::invalid, "whatsapp-phone-number-id-invalid",
                         "the WhatsApp phone number id is not 1 to 64 digits");
  }
  if (!header_safe(access_token)) {
    // Never say what the token is, not even a part of it.
    throw loyalty::Error(ErrorCode::invalid, "whatsapp-token-invalid",
                         "the WhatsApp access token is empty or not printable ASCII");
  }
  outbound::Request request;
  request.method = "POST";
  request.url = messages_url(phone_number_id);
  request.headers = {{"Content-Type", "application/json"},
                     {"Authorization", "Bearer " + std::string(access_token)}};
  // The builders check UTF-8; replacing keeps a body built elsewhere from throwing here.
  request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  request.timeout = options_.timeout;
  request.destination = "whatsapp:" + std::string(phone_number_id);
  return request;
}

SendResult GraphClient::send(std::string_view phone_number_id, std::string_view access_token,
                             const nlohmann::json& body) {
  SendResult result = classify_answer(http_->send(request(phone_number_id, access_token, body)));
  log_result(phone_number_id, result);
  return result;
}

bool GraphClient::submit(std::string_view phone_number_id, std::string_view access_token,
                         const nlohmann::json& body, std::function<void(SendResult)> done) {
  return http_->submit(
      request(phone_number_id, access_token, body),
      [id = std::string(phone_number_id), done = std::move(done)](outbound::Response response) {
        SendResult result = classify_answer(response);
        log_result(id, result);
        done(std::move(result));
      });
}

SendResult GraphClient::send_with_retries(std::string_view phone_number_id,
                                          std::string_view access_token, const nlohmann::json& body,
                                          const outbound::RetrySchedule& schedule, int* attempts) {
  int made = 0;
  while (true) {
    SendResult result = send(phone_number_id, access_token, body);
    ++made;
    const auto wait = retry_delay(result, schedule, made);
    if (!wait) {
      if (attempts != nullptr) *attempts = made;
      return result;
    }
    std::this_thread::sleep_for(*wait);
  }
}

}  // namespace loyalty::whatsapp
