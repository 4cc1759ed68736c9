#include <loyalty/core/error.hpp>
#include <loyalty/core/rate_limit.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace std::chrono_literals;
using loyalty::LoginThrottle;
using loyalty::LoginThrottleConfig;
using loyalty::RateClock;
using loyalty::TokenBucketConfig;
using loyalty::TokenBucketLimiter;

namespace {

const RateClock::time_point kStart{std::chrono::hours(1000)};

}  // namespace

TEST_CASE("rate limit: a bucket allows its burst, then asks to wait for a refill", "[unit]") {
  TokenBucketLimiter limiter({.rate_per_second = 1, .burst = 3});
  for (int i = 0; i < 3; ++i) CHECK(limiter.acquire("key", kStart).allowed);
  const auto denied = limiter.acquire("key", kStart);
  CHECK_FALSE(denied.allowed);
  CHECK(denied.retry_after == 1s);

  const auto half_refilled = limiter.acquire("key", kStart + 500ms);
  CHECK_FALSE(half_refilled.allowed);
  CHECK(half_refilled.retry_after == 1s);

  CHECK(limiter.acquire("key", kStart + 1s).allowed);
  CHECK_FALSE(limiter.acquire("key", kStart + 1s).allowed);
  // A long pause refills to the burst, never beyond it.
  for (int i = 0; i < 3; ++i) CHECK(limiter.acquire("key", kStart + 1h).allowed);
  CHECK_FALSE(limiter.acquire("key", kStart + 1h).allowed);
}

TEST_CASE("rate limit: Retry-After is the wait for enough tokens, rounded up", "[unit]") {
  TokenBucketLimiter slow({.rate_per_second = 0.1, .burst = 1});
  CHECK(slow.acquire("ip", kStart).allowed);
  CHECK(slow.acquire("ip", kStart).retry_after == 10s);
  CHECK(slow.acquire("ip", kStart + 2500ms).retry_after == 8s);
  CHECK(slow.acquire("ip", kStart + 10s).allowed);

  TokenBucketLimiter fast({.rate_per_second = 100, .burst = 5});
  for (int i = 0; i < 5; ++i) CHECK(fast.acquire("ip", kStart).allowed);
  const auto denied = fast.acquire("ip", kStart);
  CHECK_FALSE(denied);
  CHECK(denied.retry_after == 1s);

  TokenBucketLimiter costly({.rate_per_second = 1, .burst = 10});
  CHECK(costly.acquire("k", kStart, 8).allowed);
  const auto short_of_tokens = costly.acquire("k", kStart, 5);
  CHECK_FALSE(short_of_tokens.allowed);
  CHECK(short_of_tokens.retry_after == 3s);
  // A refused request takes nothing: the two tokens left are still there.
  CHECK(costly.acquire("k", kStart, 2).allowed);
}

TEST_CASE("rate limit: keys have independent buckets", "[unit]") {
  TokenBucketLimiter limiter({.rate_per_second = 1, .burst = 1});
  CHECK(limiter.acquire("10.0.0.1", kStart).allowed);
  CHECK_FALSE(limiter.acquire("10.0.0.1", kStart).allowed);
  CHECK(limiter.acquire("10.0.0.2", kStart).allowed);
  CHECK(limiter.acquire("key:abc", kStart).allowed);
}

TEST_CASE("rate limit: memory stays bounded by forgetting idle buckets first", "[unit]") {
  TokenBucketLimiter limiter({.rate_per_second = 1, .burst = 2, .max_keys = 3});
  for (int i = 0; i < 100; ++i) limiter.acquire("ip-" + std::to_string(i), kStart);
  CHECK(limiter.tracked_keys() == 3);

  // Once refilled, old buckets are dropped as soon as a new key arrives.
  limiter.acquire("late", kStart + 10s);
  CHECK(limiter.tracked_keys() == 1);

  // A busy bucket survives while it is recently used.
  TokenBucketLimiter busy({.rate_per_second = 1, .burst = 2, .max_keys = 2});
  busy.acquire("hot", kStart);
  busy.acquire("hot", kStart);
  busy.acquire("cold", kStart);
  busy.acquire("hot", kStart);
  busy.acquire("new", kStart);
  CHECK(busy.tracked_keys() == 2);
  CHECK_FALSE(busy.acquire("hot", kStart).allowed);
}

TEST_CASE("rate limit: impossible configurations are refused", "[unit]") {
  CHECK_THROWS_AS(TokenBucketLimiter({.rate_per_second = 0, .burst = 1}), loyalty::Error);
  CHECK_THROWS_AS(TokenBucketLimiter({.rate_per_second = 1, .burst = 0.5}), loyalty::Error);
  CHECK_THROWS_AS(TokenBucketLimiter({.rate_per_second = 1, .burst = 1, .max_keys = 0}),
                  loyalty::Error);
  CHECK_THROWS_AS(LoginThrottle({.max_failures_per_account = 0}), loyalty::Error);
  CHECK_THROWS_AS(LoginThrottle({.window = 0s}), loyalty::Error);
}

TEST_CASE("login throttle: the 11th attempt after ten failures in 15 minutes is refused",
          "[unit]") {
  LoginThrottle throttle;
  for (int i = 0; i < 10; ++i) {
    const auto now = kStart + std::chrono::seconds(i * 60);
    // Different addresses, so only the account limit is in play.
    const std::string ip = "10.0.0." + std::to_string(i);
    REQUIRE_FALSE(throttle.check("ann@example.com", ip, now).has_value());
    throttle.record_failure("ann@example.com", ip, now);
  }
  const auto at_11th = kStart + 10min;
  const auto retry = throttle.check("ann@example.com", "10.0.0.99", at_11th);
  REQUIRE(retry.has_value());
  // The oldest failure (at kStart) leaves the window at kStart + 15 min.
  CHECK(*retry == 5min);
  CHECK_FALSE(throttle.check("bob@example.com", "10.0.0.99", at_11th).has_value());

  SECTION("the window slides: one attempt frees up as the oldest failure expires") {
    CHECK(throttle.check("ann@example.com", "10.0.0.99", kStart + 15min - 1s) == 1s);
    CHECK_FALSE(throttle.check("ann@example.com", "10.0.0.99", kStart + 15min).has_value());
    throttle.record_failure("ann@example.com", "10.0.0.99", kStart + 15min);
    CHECK(throttle.check("ann@example.com", "10.0.0.98", kStart + 15min) == 1min);
  }
  SECTION("a success clears the account's failures") {
    throttle.record_success("ann@example.com");
    CHECK_FALSE(throttle.check("ann@example.com", "10.0.0.99", at_11th).has_value());
  }
}

TEST_CASE("login throttle: one address guessing at many accounts is refused", "[unit]") {
  LoginThrottle throttle;
  for (int i = 0; i < 10; ++i) {
    const std::string account = "user" + std::to_string(i) + "@example.com";
    throttle.record_failure(account, "203.0.113.7", kStart + std::chrono::seconds(i));
  }
  const auto now = kStart + 20s;
  const auto retry = throttle.check("someone-else@example.com", "203.0.113.7", now);
  REQUIRE(retry.has_value());
  CHECK(*retry == 15min - 20s);
  CHECK_FALSE(throttle.check("someone-else@example.com", "198.51.100.1", now).has_value());

  // A valid login from that address does not reset the address's count.
  throttle.record_success("user0@example.com");
  CHECK(throttle.check("user0@example.com", "203.0.113.7", now).has_value());
}

TEST_CASE("login throttle: both limits are configurable", "[unit]") {
  LoginThrottle throttle({.max_failures_per_account = 3, .max_failures_per_ip = 50, .window = 60s});
  for (int i = 0; i < 3; ++i) throttle.record_failure("ann", "ip", kStart);
  CHECK(throttle.check("ann", "other-ip", kStart) == 60s);
  CHECK_FALSE(throttle.check("bob", "ip", kStart).has_value());
  CHECK_FALSE(throttle.check("ann", "ip", kStart + 60s).has_value());
}

TEST_CASE("login throttle: memory stays bounded under many accounts", "[unit]") {
  LoginThrottle throttle({.max_keys = 5});
  for (int i = 0; i < 1000; ++i) {
    throttle.record_failure("user" + std::to_string(i), "ip" + std::to_string(i), kStart);
  }
  // The newest failures are still counted.
  for (int i = 0; i < 9; ++i) throttle.record_failure("user999", "ip", kStart);
  CHECK(throttle.check("user999", "fresh-ip", kStart).has_value());
}

TEST_CASE(
    "login throttle: 10x its capacity of distinct keys never holds more than the capacity, and a "
    "throttled account and address stay throttled",
    "[unit]") {
  constexpr std::size_t kCapacity = 1000;
  LoginThrottle throttle({.max_keys = kCapacity});
  // An account and an address past their ten failures, then left alone: least recently used.
  for (int i = 0; i < 10; ++i) {
    throttle.record_failure("victim@example.com", "10.1.0." + std::to_string(i), kStart);
    throttle.record_failure("guess" + std::to_string(i) + "@example.com", "203.0.113.7", kStart);
  }
  REQUIRE(throttle.check("victim@example.com", "fresh", kStart).has_value());
  REQUIRE(throttle.check("anyone@example.com", "203.0.113.7", kStart).has_value());

  // A flood of new accounts from new addresses, inside the window, with megabyte-long keys among
  // them: entries are digests, so a long key takes no more room than a short one.
  std::size_t most_accounts = 0, most_addresses = 0;
  const std::string long_tail(1 << 20, 'x');
  for (std::size_t i = 0; i < 10 * kCapacity; ++i) {
    const auto now = kStart + std::chrono::milliseconds(i);
    std::string account = "flood" + std::to_string(i) + "@example.com";
    if (i % 1000 == 0) account += long_tail;
    throttle.record_failure(account, "198.51." + std::to_string(i), now);
    most_accounts = std::max(most_accounts, throttle.tracked_accounts());
    most_addresses = std::max(most_addresses, throttle.tracked_addresses());
  }
  CHECK(most_accounts == kCapacity);
  CHECK(most_addresses == kCapacity);

  const auto after = kStart + 10s;  // well inside the 15-minute window
  CHECK(throttle.check("victim@example.com", "fresh", after).has_value());
  CHECK(throttle.check("anyone@example.com", "203.0.113.7", after).has_value());
  // The flood's own keys were evicted oldest first: the newest are still counted.
  for (int i = 0; i < 9; ++i) {
    throttle.record_failure("flood9999@example.com", "198.51.9999", after);
  }
  CHECK(throttle.check("flood9999@example.com", "elsewhere", after).has_value());

  // Once the window has passed, the throttles lift and idle keys are forgotten.
  const auto later = kStart + 16min;
  CHECK_FALSE(throttle.check("victim@example.com", "fresh", later).has_value());
  throttle.record_failure("late@example.com", "192.0.2.1", later);
  CHECK(throttle.tracked_accounts() == 1);
  CHECK(throttle.tracked_addresses() == 1);
}

TEST_CASE("login throttle: when every key held is throttled, the least recently failed goes",
          "[unit]") {
  LoginThrottle throttle(
      {.max_failures_per_account = 2, .max_failures_per_ip = 100, .max_keys = 3});
  for (int a = 0; a < 5; ++a) {
    const auto now = kStart + std::chrono::seconds(a);
    for (int i = 0; i < 2; ++i) throttle.record_failure("a" + std::to_string(a), "ip", now);
  }
  CHECK(throttle.tracked_accounts() == 3);
  for (int a = 0; a < 5; ++a) {
    INFO("account a" << a);
    CHECK(throttle.check("a" + std::to_string(a), "other", kStart + 10s).has_value() == (a >= 2));
  }
}

TEST_CASE(
    "rate limit: 10x its capacity of distinct keys never holds more than the capacity, and a "
    "throttled key still in use stays throttled",
    "[unit]") {
  constexpr std::size_t kCapacity = 1000;
  TokenBucketLimiter limiter({.rate_per_second = 0.001, .burst = 2, .max_keys = kCapacity});
  CHECK(limiter.acquire("hot", kStart).allowed);
  CHECK(limiter.acquire("hot", kStart).allowed);
  std::size_t most = 0;
  const std::string long_tail(1 << 20, 'y');
  for (std::size_t i = 0; i < 10 * kCapacity; ++i) {
    std::string key = "ip-" + std::to_string(i);
    if (i % 1000 == 0) key += long_tail;
    limiter.acquire(key, kStart);
    most = std::max(most, limiter.tracked_keys());
    // The throttled caller keeps trying, and keeps being refused.
    if (i % 100 == 0) REQUIRE_FALSE(limiter.acquire("hot", kStart).allowed);
  }
  CHECK(most == kCapacity);
  CHECK_FALSE(limiter.acquire("hot", kStart).allowed);
}
