#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

/// When a failed delivery is tried again: an exponential schedule with full jitter.
namespace loyalty::outbound {

/// The delays after the 1st, 2nd, ... failed attempt. The default is Svix's, about a day in all:
/// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — eight attempts, then the delivery has failed.
struct RetrySchedule {
  std::vector<std::chrono::milliseconds> delays;
  static RetrySchedule standard();
  /// Parses "5s,5m,30m,2h,5h,10h,10h" (units s, m, h; also ms for tests: "100ms,200ms");
  /// throws Error(invalid) on anything else or an empty list.
  static RetrySchedule parse(std::string_view text);
};

/// The wait before the next attempt after `failed_attempts` failures (1 = the first attempt
/// failed): "full jitter", uniformly random in [0, delay] of the schedule's entry, so a burst of
/// failures (an endpoint that was down) does not come back as one burst; std::nullopt when the
/// schedule is exhausted. A Retry-After from the receiver (seconds, >= 0) lengthens the wait to at
/// least it, capped at 24 h.
std::optional<std::chrono::milliseconds> next_retry(const RetrySchedule& schedule,
                                                    int failed_attempts,
                                                    std::int64_t retry_after = -1);

}  // namespace loyalty::outbound
