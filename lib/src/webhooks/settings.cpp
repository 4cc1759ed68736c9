#include <loyalty/core/error.hpp>
#include <loyalty/webhooks/settings.hpp>

#include <sstream>

namespace loyalty::webhooks {

outbound::AddressPolicy address_policy(const config::Settings& settings) {
  outbound::AddressPolicy policy;
  policy.allow_http = settings.allow_http_webhooks;
  policy.allow_private = settings.allow_private_webhooks;
  std::stringstream entries(settings.outbound_resolve);
  std::string entry;
  while (std::getline(entries, entry, ',')) {
    if (entry.empty()) continue;
    // host:port:address, the address possibly an IPv6 literal with colons of its own
    const auto first = entry.find(':');
    const auto second = first == std::string::npos ? first : entry.find(':', first + 1);
    if (second == std::string::npos || first == 0 || second == first + 1 ||
        second + 1 == entry.size()) {
      throw_invalid("--outbound-resolve wants HOST:PORT:ADDRESS entries, got '" + entry + "'");
    }
    std::string address = entry.substr(second + 1);
    if (address.size() > 2 && address.front() == '[' && address.back() == ']') {
      address = address.substr(1, address.size() - 2);
    }
    policy.resolve[entry.substr(0, second)].push_back(address);
  }
  return policy;
}

DispatcherOptions dispatcher_options(const config::Settings& settings) {
  DispatcherOptions o;
  o.client.policy = address_policy(settings);
  if (settings.webhook_timeout < 1) throw_invalid("--webhook-timeout must be at least 1 second");
  if (settings.webhook_concurrency < 1 || settings.webhook_concurrency_per_subscription < 1) {
    throw_invalid(
        "--webhook-concurrency and --webhook-concurrency-per-subscription must be at "
        "least 1");
  }
  if (settings.webhook_breaker < 1) throw_invalid("--webhook-breaker must be at least 1");
  o.timeout = std::chrono::seconds(settings.webhook_timeout);
  o.client.max_in_flight = static_cast<std::size_t>(settings.webhook_concurrency);
  o.client.max_per_destination =
      static_cast<std::size_t>(settings.webhook_concurrency_per_subscription);
  o.schedule = outbound::RetrySchedule::parse(settings.webhook_retry_schedule);
  o.breaker_threshold = settings.webhook_breaker;
  o.breaker_cooldown = std::chrono::seconds(settings.webhook_breaker_cooldown);
  // A lease outlives an attempt that waited for a free slot and then ran to its timeout: a
  // minute by default. A daemon killed mid-send leaves its deliveries to others after it.
  o.lease = 6 * std::chrono::seconds(settings.webhook_timeout);
  return o;
}

}  // namespace loyalty::webhooks
