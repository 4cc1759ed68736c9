#include <loyalty/core/rate_limit.hpp>

#include <loyalty/core/error.hpp>

#include <algorithm>
#include <deque>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace loyalty {
namespace {

using namespace std::chrono_literals;

std::chrono::seconds retry_after(RateClock::duration wait) {
  return std::max(std::chrono::ceil<std::chrono::seconds>(wait), std::chrono::seconds(1));
}

// A map that remembers use order, so the least recently used entry can be dropped in O(1).
template <typename Value>
class LruMap {
 public:
  struct Node {
    std::string key;
    Value value;
  };

  // Finds an entry and marks it most recently used.
  Value* touch(std::string_view key) {
    const auto it = index_.find(std::string(key));
    if (it == index_.end()) return nullptr;
    nodes_.splice(nodes_.begin(), nodes_, it->second);
    return &it->second->value;
  }

  // Finds an entry without changing the use order.
  const Value* peek(std::string_view key) const {
    const auto it = index_.find(std::string(key));
    return it == index_.end() ? nullptr : &it->second->value;
  }

  Value& insert(std::string_view key, Value value) {
    nodes_.push_front(Node{std::string(key), std::move(value)});
    index_.emplace(nodes_.front().key, nodes_.begin());
    return nodes_.front().value;
  }

  void erase(std::string_view key) {
    const auto it = index_.find(std::string(key));
    if (it == index_.end()) return;
    nodes_.erase(it->second);
    index_.erase(it);
  }

  bool empty() const { return nodes_.empty(); }
  std::size_t size() const { return nodes_.size(); }
  const Node& least_recent() const { return nodes_.back(); }
  void drop_least_recent() {
    index_.erase(nodes_.back().key);
    nodes_.pop_back();
  }

 private:
  std::list<Node> nodes_;
  std::unordered_map<std::string, typename std::list<Node>::iterator> index_;
};

// Failure times of one key, oldest first; only the newest `max_failures` are ever needed.
class FailureLog {
 public:
  FailureLog(std::size_t max_failures, RateClock::duration window, std::size_t max_keys)
      : max_failures_(max_failures), window_(window), max_keys_(max_keys) {}

  std::optional<std::chrono::seconds> blocked(std::string_view key,
                                              RateClock::time_point now) const {
    const auto* times = log_.peek(key);
    if (times == nullptr || times->size() < max_failures_) return std::nullopt;
    const RateClock::time_point frees_at = times->front() + window_;
    if (frees_at <= now) return std::nullopt;
    return retry_after(frees_at - now);
  }

  void add(std::string_view key, RateClock::time_point now) {
    forget_idle(now);
    auto* times = log_.touch(key);
    if (times == nullptr) {
      if (log_.size() >= max_keys_) log_.drop_least_recent();
      times = &log_.insert(key, {});
    }
    times->push_back(now);
    if (times->size() > max_failures_) times->pop_front();
  }

  void clear(std::string_view key) { log_.erase(key); }

 private:
  // The least recently failed key goes first once its newest failure has left the window.
  void forget_idle(RateClock::time_point now) {
    while (!log_.empty() && log_.least_recent().value.back() + window_ <= now) {
      log_.drop_least_recent();
    }
  }

  std::size_t max_failures_;
  RateClock::duration window_;
  std::size_t max_keys_;
  LruMap<std::deque<RateClock::time_point>> log_;
};

}  // namespace

struct TokenBucketLimiter::State {
  struct Bucket {
    double tokens;
    RateClock::time_point updated;
  };

  explicit State(TokenBucketConfig config) : config(config) {}

  double tokens_at(const Bucket& bucket, RateClock::time_point now) const {
    const double elapsed =
        std::chrono::duration<double>(std::max(now - bucket.updated, RateClock::duration::zero()))
            .count();
    return std::min(config.burst, bucket.tokens + elapsed * config.rate_per_second);
  }

  TokenBucketConfig config;
  mutable std::mutex mutex;
  LruMap<Bucket> buckets;
};

TokenBucketLimiter::TokenBucketLimiter(TokenBucketConfig config) {
  if (!(config.rate_per_second > 0) || !(config.burst >= 1) || config.max_keys == 0) {
    throw_invalid("rate limit needs a positive rate, a burst of at least 1 and room for a key");
  }
  state_ = std::make_unique<State>(config);
}

TokenBucketLimiter::~TokenBucketLimiter() = default;

RateDecision TokenBucketLimiter::acquire(std::string_view key, RateClock::time_point now,
                                         double cost) {
  State& s = *state_;
  const std::lock_guard lock(s.mutex);
  State::Bucket* bucket = s.buckets.touch(key);
  if (bucket == nullptr) {
    // A bucket that has refilled is indistinguishable from no bucket: drop those first.
    while (!s.buckets.empty() &&
           s.tokens_at(s.buckets.least_recent().value, now) >= s.config.burst) {
      s.buckets.drop_least_recent();
    }
    if (s.buckets.size() >= s.config.max_keys) s.buckets.drop_least_recent();
    bucket = &s.buckets.insert(key, State::Bucket{s.config.burst, now});
  } else {
    bucket->tokens = s.tokens_at(*bucket, now);
    bucket->updated = std::max(bucket->updated, now);
  }
  if (bucket->tokens >= cost) {
    bucket->tokens -= cost;
    return RateDecision{true, std::chrono::seconds(0)};
  }
  const std::chrono::duration<double> wait((cost - bucket->tokens) / s.config.rate_per_second);
  return RateDecision{false, retry_after(std::chrono::duration_cast<RateClock::duration>(wait))};
}

std::size_t TokenBucketLimiter::tracked_keys() const {
  const std::lock_guard lock(state_->mutex);
  return state_->buckets.size();
}

struct LoginThrottle::State {
  explicit State(const LoginThrottleConfig& config)
      : accounts(config.max_failures_per_account, config.window, config.max_keys),
        ips(config.max_failures_per_ip, config.window, config.max_keys) {}

  mutable std::mutex mutex;
  FailureLog accounts;
  FailureLog ips;
};

LoginThrottle::LoginThrottle(LoginThrottleConfig config) {
  if (config.max_failures_per_account == 0 || config.max_failures_per_ip == 0 ||
      config.window <= 0s || config.max_keys == 0) {
    throw_invalid("login throttle needs positive failure limits, window and capacity");
  }
  state_ = std::make_unique<State>(config);
}

LoginThrottle::~LoginThrottle() = default;

std::optional<std::chrono::seconds> LoginThrottle::check(std::string_view account,
                                                         std::string_view ip,
                                                         RateClock::time_point now) const {
  const std::lock_guard lock(state_->mutex);
  const auto by_account = state_->accounts.blocked(account, now);
  const auto by_ip = state_->ips.blocked(ip, now);
  if (by_account && by_ip) return std::max(*by_account, *by_ip);
  return by_account ? by_account : by_ip;
}

void LoginThrottle::record_failure(std::string_view account, std::string_view ip,
                                   RateClock::time_point now) {
  const std::lock_guard lock(state_->mutex);
  state_->accounts.add(account, now);
  state_->ips.add(ip, now);
}

void LoginThrottle::record_success(std::string_view account) {
  const std::lock_guard lock(state_->mutex);
  state_->accounts.clear(account);
}

}  // namespace loyalty
