#include <loyalty/outbound/retry.hpp>

#include <loyalty/core/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <string>

namespace loyalty::outbound {

namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr std::size_t kMaxEntries = 100;
constexpr milliseconds kMaxDelay = hours(24 * 7);
constexpr std::int64_t kRetryAfterCapSeconds = 24 * 60 * 60;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

[[noreturn]] void bad_schedule(std::string_view text, std::string_view why) {
  throw_invalid(fmt::format("retry schedule \"{}\": {}", text, why));
}

milliseconds parse_delay(std::string_view entry, std::string_view whole) {
  std::size_t digits = 0;
  while (digits < entry.size() && entry[digits] >= '0' && entry[digits] <= '9') ++digits;
  if (digits == 0) bad_schedule(whole, "each delay is a number and a unit (ms, s, m, h)");
  // Seven digits are more than any allowed delay in any unit, and cannot overflow below.
  if (digits > 7) bad_schedule(whole, "a delay is longer than 7 days");
  std::int64_t value = 0;
  for (std::size_t i = 0; i < digits; ++i) value = value * 10 + (entry[i] - '0');
  const auto unit = entry.substr(digits);
  milliseconds delay{0};
  if (unit == "ms") {
    delay = milliseconds(value);
  } else if (unit == "s") {
    delay = seconds(value);
  } else if (unit == "m") {
    delay = minutes(value);
  } else if (unit == "h") {
    delay = hours(value);
  } else {
    bad_schedule(whole, "each delay is a number and a unit (ms, s, m, h)");
  }
  if (delay > kMaxDelay) bad_schedule(whole, "a delay is longer than 7 days");
  return delay;
}

std::mt19937_64& generator() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

}  // namespace

RetrySchedule RetrySchedule::standard() {
  return RetrySchedule{
      {seconds(5), minutes(5), minutes(30), hours(2), hours(5), hours(10), hours(10)}};
}

RetrySchedule RetrySchedule::parse(std::string_view text) {
  RetrySchedule schedule;
  if (trim(text).empty()) bad_schedule(text, "the list is empty");
  std::size_t start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    const auto entry = trim(text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (entry.empty()) bad_schedule(text, "an entry is empty");
    schedule.delays.push_back(parse_delay(entry, text));
    if (schedule.delays.size() > kMaxEntries) bad_schedule(text, "more than 100 entries");
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return schedule;
}

std::optional<std::chrono::milliseconds> next_retry(const RetrySchedule& schedule,
                                                    int failed_attempts, std::int64_t retry_after) {
  if (failed_attempts < 1) {
    throw Error(ErrorCode::internal, "internal", "next_retry: failed_attempts must be at least 1");
  }
  if (static_cast<std::size_t>(failed_attempts) > schedule.delays.size()) return std::nullopt;
  const milliseconds delay = schedule.delays[static_cast<std::size_t>(failed_attempts) - 1];
  std::uniform_int_distribution<std::int64_t> draw(0, std::max<std::int64_t>(0, delay.count()));
  milliseconds wait(draw(generator()));
  if (retry_after >= 0) {
    wait = std::max(wait, milliseconds(seconds(std::min(retry_after, kRetryAfterCapSeconds))));
  }
  return wait;
}

}  // namespace loyalty::outbound
