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
