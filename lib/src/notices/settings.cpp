#include <loyalty/config/config.hpp>
#include <loyalty/notices/sender.hpp>
#include <loyalty/webhooks/settings.hpp>

#include <algorithm>

namespace loyalty::notices {

SenderOptions sender_options(const config::Settings& settings) {
  SenderOptions o;
  o.threads = std::clamp(settings.workers, 1, 8);
  o.graph.api_base = settings.whatsapp_api_base;
  o.graph.policy = webhooks::address_policy(settings);
  o.graph.policy.allow_http = true;
  o.graph.policy.allow_private = true;
  o.default_access_token = settings.whatsapp_access_token;
  if (!settings.notice_retry_schedule.empty()) {
    o.retry = outbound::RetrySchedule::parse(settings.notice_retry_schedule);
  }
  return o;
}

}  // namespace loyalty::notices
