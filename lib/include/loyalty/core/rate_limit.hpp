#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

/// In-memory request rate limits and login throttling.
///
/// State is per process: with several daemons each enforces its own limits. Times come from a
/// steady clock and are passed in, so tests control them.
namespace loyalty {

using RateClock = std::chrono::steady_clock;

/// A token bucket: `burst` requests at once, refilled at `rate_per_second`.
struct TokenBucketConfig {
  double rate_per_second = 10;
  double burst = 20;
  std::size_t max_keys = 100'000;  ///< buckets kept at most; idle ones are dropped first
};

/// The answer to one request: allowed, or how long to wait (the Retry-After value).
struct RateDecision {
  bool allowed = true;
  std::chrono::seconds retry_after{0};  ///< whole seconds, at least 1 when not allowed
  explicit operator bool() const noexcept { return allowed; }
};

/// Token buckets keyed by a string (an API key prefix, a user id, a client IP).
///
/// Memory is bounded by `max_keys`: buckets that have refilled completely are forgotten (a full
/// bucket behaves exactly like a new one), and beyond `max_keys` the least recently used bucket
/// is dropped. A bucket is held under a 16-byte keyed digest of its key, never the key itself,
/// so each costs the same whatever the key's length. Thread-safe.
class TokenBucketLimiter {
 public:
  /// Throws Error(invalid) unless rate_per_second > 0, burst >= 1 and max_keys >= 1.
  explicit TokenBucketLimiter(TokenBucketConfig config);
  ~TokenBucketLimiter();
  TokenBucketLimiter(const TokenBucketLimiter&) = delete;
  TokenBucketLimiter& operator=(const TokenBucketLimiter&) = delete;

  /// Takes `cost` tokens from `key`'s bucket at time `now` if it holds that many; otherwise
  /// takes nothing and says how many seconds until it will (rounded up). A `cost` above the
  /// burst can never be met.
  RateDecision acquire(std::string_view key, RateClock::time_point now, double cost = 1.0);

  /// How many buckets are held right now.
  std::size_t tracked_keys() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Limits for failed logins in a sliding window.
struct LoginThrottleConfig {
  std::size_t max_failures_per_account = 10;
  std::size_t max_failures_per_ip = 10;
  std::chrono::seconds window{15 * 60};
  std::size_t max_keys = 100'000;  ///< accounts and addresses tracked at most, each
};

/// Counts failed logins per account and per client IP in a sliding window. Once an account (or
/// an IP) has `max_failures_*` failures within the window, further attempts are throttled
/// until the oldest of them leaves the window: with the defaults, the 11th attempt within 15
/// minutes after ten failures is refused. A success clears the account's failures but not the
/// IP's, so one valid account cannot be used to reset an address that guesses at others.
///
/// Pass the account the same way every time (e.g. the lower-cased email), whether or not it
/// exists, so unknown and known emails are throttled alike. Thread-safe.
///
/// Memory is fixed: at most `max_keys` accounts and `max_keys` addresses, each held under a
/// 16-byte keyed digest of its text with its newest `max_failures_*` failure times, whatever
/// the keys. Keys whose newest failure has left the window are forgotten first; beyond
/// `max_keys`, the least recently failed key that is not throttled is dropped, and a throttled
/// one only when every key held is throttled, so a flood of new keys cannot lift a throttle.
class LoginThrottle {
 public:
  /// Throws Error(invalid) when a maximum is zero or the window is not positive.
  explicit LoginThrottle(LoginThrottleConfig config = {});
  ~LoginThrottle();
  LoginThrottle(const LoginThrottle&) = delete;
  LoginThrottle& operator=(const LoginThrottle&) = delete;

  /// Call before checking credentials: std::nullopt when the attempt may proceed, else the
  /// seconds to wait (at least 1) for the 429's Retry-After.
  std::optional<std::chrono::seconds> check(std::string_view account, std::string_view ip,
                                            RateClock::time_point now) const;

  /// Records a failed attempt (wrong password or unknown account) for both the account and IP.
  void record_failure(std::string_view account, std::string_view ip, RateClock::time_point now);

  /// Records a successful login: the account's failures are forgotten.
  void record_success(std::string_view account);

  /// How many accounts, and how many addresses, are held right now (each at most max_keys).
  std::size_t tracked_accounts() const;
  std::size_t tracked_addresses() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace loyalty
