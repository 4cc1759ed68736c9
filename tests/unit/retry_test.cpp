// The retry schedule of outbound deliveries: parsing, full jitter, exhaustion, Retry-After.

#include <loyalty/core/error.hpp>
#include <loyalty/outbound/retry.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace loyalty::outbound;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

TEST_CASE("retry: the standard schedule is Svix's, about a day in seven retries", "[unit]") {
  const std::vector<milliseconds> expected = {5s, 5min, 30min, 2h, 5h, 10h, 10h};
  CHECK(RetrySchedule::standard().delays == expected);
}

TEST_CASE("retry: a schedule parses from units ms, s, m and h", "[unit]") {
  CHECK(RetrySchedule::parse("5s,5m,30m,2h,5h,10h,10h").delays == RetrySchedule::standard().delays);
  CHECK(RetrySchedule::parse("100ms,200ms").delays == std::vector<milliseconds>{100ms, 200ms});
  CHECK(RetrySchedule::parse("1s").delays == std::vector<milliseconds>{1s});
  CHECK(RetrySchedule::parse(" 1s , 2m ").delays == std::vector<milliseconds>{1s, 2min});
  CHECK(RetrySchedule::parse("0ms,168h").delays == std::vector<milliseconds>{0ms, 168h});
}

TEST_CASE("retry: a malformed schedule is refused as invalid", "[unit]") {
  for (const char* text :
       {"", " ", ",", "5", "s", "5x", "5 s", "5S", "5d", "1.5s", "-5s", "+5s", "5s,", ",5s",
        "5s,,5m", "5s;5m", "169h", "99999999999999999999h", "10081m"}) {
    INFO('"' << text << '"');
    try {
      RetrySchedule::parse(text);
      FAIL("accepted");
    } catch (const loyalty::Error& e) {
      CHECK(e.code() == loyalty::ErrorCode::invalid);
    }
  }
  std::string many;
  for (int i = 0; i < 101; ++i) many += i == 0 ? "1s" : ",1s";
  CHECK_THROWS_AS(RetrySchedule::parse(many), loyalty::Error);
}

TEST_CASE("retry: the wait is drawn from [0, delay] over the whole range (full jitter)", "[unit]") {
  const auto schedule = RetrySchedule::standard();
  for (int attempt = 1; attempt <= 7; ++attempt) {
    INFO("attempt " << attempt);
    const milliseconds delay = schedule.delays[static_cast<std::size_t>(attempt) - 1];
    milliseconds low = delay;
    milliseconds high = 0ms;
    for (int draw = 0; draw < 2000; ++draw) {
      const auto wait = next_retry(schedule, attempt);
      REQUIRE(wait.has_value());
      REQUIRE(*wait >= 0ms);
      REQUIRE(*wait <= delay);
      low = std::min(low, *wait);
      high = std::max(high, *wait);
    }
    // 2,000 uniform draws reach the outer tenths of the range (a miss has odds of 10^-91).
    CHECK(low < delay / 10);
    CHECK(high > delay - delay / 10);
  }
}

TEST_CASE("retry: the schedule is exhausted after its last entry", "[unit]") {
  const auto schedule = RetrySchedule::standard();
  CHECK(next_retry(schedule, 7).has_value());
  CHECK(next_retry(schedule, 8) == std::nullopt);
  CHECK(next_retry(schedule, 100) == std::nullopt);
  CHECK(next_retry(schedule, 8, 30) == std::nullopt);
  const auto short_one = RetrySchedule::parse("100ms");
  CHECK(next_retry(short_one, 1).has_value());
  CHECK(next_retry(short_one, 2) == std::nullopt);
  CHECK_THROWS_AS(next_retry(schedule, 0), loyalty::Error);
}

TEST_CASE("retry: Retry-After lengthens the wait to at least it, capped at 24 hours", "[unit]") {
  const auto schedule = RetrySchedule::parse("100ms,10s");
  CHECK(next_retry(schedule, 1, 7) == milliseconds(7s));
  CHECK(next_retry(schedule, 1, 86400) == milliseconds(24h));
  CHECK(next_retry(schedule, 1, 86401) == milliseconds(24h));
  CHECK(next_retry(schedule, 1, 1'000'000'000'000) == milliseconds(24h));
  // A Retry-After shorter than the drawn wait leaves the draw alone: all of (2 s, 10 s] occurs.
  bool above = false;
  for (int draw = 0; draw < 500; ++draw) {
    const auto wait = next_retry(schedule, 2, 2);
    REQUIRE(wait.has_value());
    REQUIRE(*wait >= 2s);
    REQUIRE(*wait <= 10s);
    above = above || *wait > 5s;
  }
  CHECK(above);
  // 0 and -1 (none) add no floor.
  for (int draw = 0; draw < 200; ++draw) {
    REQUIRE(*next_retry(schedule, 1, 0) <= 100ms);
    REQUIRE(*next_retry(schedule, 1, -1) <= 100ms);
  }
}
