#include <loyalty/core/rate_limit.hpp>

#include <loyalty/core/error.hpp>

#include <loyalty/core/crypto.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace loyalty {
namespace {

using namespace std::chrono_literals;

std::chrono::seconds retry_after(RateClock::duration wait) {
  return std::max(std::chrono::ceil<std::chrono::seconds>(wait), std::chrono::seconds(1));
}

// Entries are keyed by a 16-byte keyed digest of the key text, never the text itself: an
// entry's size is the same whatever the key (a megabyte-long email costs what "a@b.c" costs),
// and with the process's random secret no caller can choose keys that collide in the hash table.
using Digest = std::array<unsigned char, 16>;

struct DigestHash {
  std::size_t operator()(const Digest& d) const noexcept {
    std::size_t h = 0;
    std::memcpy(&h, d.data(), sizeof h);
    return h;
  }
};

class KeyDigest {
 public:
  KeyDigest() : secret_(crypto::random_bytes(32)) {}
  Digest operator()(std::string_view key) const {
    const std::string mac = crypto::hmac_sha256(secret_, key);
    Digest d{};
    std::memcpy(d.data(), mac.data(), d.size());
    return d;
  }

 private:
  std::string secret_;
};

// A map that remembers use order, so the least recently used entry can be dropped in O(1).
template <typename Value>
class LruMap {
 public:
  struct Node {
    Digest key;
    Value value;
  };

  // Finds an entry and marks it most recently used.
  Value* touch(const Digest& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    nodes_.splice(nodes_.begin(), nodes_, it->second);
    return &it->second->value;
  }

  Value& insert(const Digest& key, Value value) {
    nodes_.push_front(Node{key, std::move(value)});
    index_.emplace(key, nodes_.begin());
    return nodes_.front().value;
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
  std::unordered_map<Digest, typename std::list<Node>::iterator, DigestHash> index_;
};

// Failure times of each key, oldest first; only the newest `max_failures` are ever kept.
//
// At most `max_keys` keys are held. Keys with fewer than `max_failures` failures ("counting")
// and keys that reached it ("throttled") are kept in two lists, each by the time of its newest
// failure: a new key evicts the least recently failed counting key, and a throttled key only
// when every key held is throttled. A flood of fresh keys (new emails, new addresses) therefore
// never frees a throttled account or address while its failures are in the window.
class FailureLog {
 public:
  FailureLog(std::size_t max_failures, RateClock::duration window, std::size_t max_keys)
      : max_failures_(max_failures), window_(window), max_keys_(max_keys) {}

  std::optional<std::chrono::seconds> blocked(const Digest& key, RateClock::time_point now) const {
    const auto found = index_.find(key);
    if (found == index_.end()) return std::nullopt;
    const auto& times = found->second->times;
    if (times.size() < max_failures_) return std::nullopt;
    const RateClock::time_point frees_at = times.front() + window_;
    if (frees_at <= now) return std::nullopt;
    return retry_after(frees_at - now);
  }

  void add(const Digest& key, RateClock::time_point now) {
    forget_idle(now);
    auto found = index_.find(key);
    Entries::iterator entry;
    if (found == index_.end()) {
      if (index_.size() >= max_keys_) evict_one();
      counting_.push_front(Entry{key, {}, false});
      counting_.front().times.reserve(max_failures_);
      entry = counting_.begin();
      index_.emplace(key, entry);
    } else {
      entry = found->second;
      Entries& list = entry->throttled ? throttled_ : counting_;
      list.splice(list.begin(), list, entry);
    }
    auto& times = entry->times;
    if (times.size() == max_failures_) times.erase(times.begin());
    times.push_back(now);
    if (!entry->throttled && times.size() == max_failures_) {
      throttled_.splice(throttled_.begin(), counting_, entry);
      entry->throttled = true;
    }
  }

  void clear(const Digest& key) {
    const auto found = index_.find(key);
    if (found == index_.end()) return;
    (found->second->throttled ? throttled_ : counting_).erase(found->second);
    index_.erase(found);
  }

  std::size_t size() const { return index_.size(); }

 private:
  struct Entry {
    Digest key;
    std::vector<RateClock::time_point> times;  // capacity max_failures_, never more
    bool throttled;
  };
  using Entries = std::list<Entry>;

  // Keys whose newest failure has left the window hold nothing that counts: forget them.
  void forget_idle(RateClock::time_point now) {
    for (Entries* list : {&counting_, &throttled_}) {
      while (!list->empty() && list->back().times.back() + window_ <= now) drop_last(*list);
    }
  }

  void evict_one() { drop_last(counting_.empty() ? throttled_ : counting_); }

  void drop_last(Entries& list) {
    index_.erase(list.back().key);
    list.pop_back();
  }

  std::size_t max_failures_;
  RateClock::duration window_;
  std::size_t max_keys_;
  Entries counting_;   // fewer than max_failures_ failures; most recent failure first
  Entries throttled_;  // max_failures_ failures; most recent failure first
  std::unordered_map<Digest, Entries::iterator, DigestHash> index_;
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
  KeyDigest digest;
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
  const Digest digest = s.digest(key);
  const std::lock_guard lock(s.mutex);
  State::Bucket* bucket = s.buckets.touch(digest);
  if (bucket == nullptr) {
    // A bucket that has refilled is indistinguishable from no bucket: drop those first.
    while (!s.buckets.empty() &&
           s.tokens_at(s.buckets.least_recent().value, now) >= s.config.burst) {
      s.buckets.drop_least_recent();
    }
    if (s.buckets.size() >= s.config.max_keys) s.buckets.drop_least_recent();
    bucket = &s.buckets.insert(digest, State::Bucket{s.config.burst, now});
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

  KeyDigest digest;
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
  const Digest account_key = state_->digest(account), ip_key = state_->digest(ip);
  const std::lock_guard lock(state_->mutex);
  const auto by_account = state_->accounts.blocked(account_key, now);
  const auto by_ip = state_->ips.blocked(ip_key, now);
  if (by_account && by_ip) return std::max(*by_account, *by_ip);
  return by_account ? by_account : by_ip;
}

void LoginThrottle::record_failure(std::string_view account, std::string_view ip,
                                   RateClock::time_point now) {
  const Digest account_key = state_->digest(account), ip_key = state_->digest(ip);
  const std::lock_guard lock(state_->mutex);
  state_->accounts.add(account_key, now);
  state_->ips.add(ip_key, now);
}

void LoginThrottle::record_success(std::string_view account) {
  const Digest account_key = state_->digest(account);
  const std::lock_guard lock(state_->mutex);
  state_->accounts.clear(account_key);
}

std::size_t LoginThrottle::tracked_accounts() const {
  const std::lock_guard lock(state_->mutex);
  return state_->accounts.size();
}

std::size_t LoginThrottle::tracked_addresses() const {
  const std::lock_guard lock(state_->mutex);
  return state_->ips.size();
}

}  // namespace loyalty
