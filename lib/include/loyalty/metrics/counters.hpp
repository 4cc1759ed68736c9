#pragma once
// Counters the library increments as things happen, read by the daemon's /metrics: lock-free
// atomics in one registry per process (counters()). Nothing here knows HTTP or Prometheus.
//
// Label values are bounded: a family keeps at most its capacity of distinct values and counts
// the rest under "other", so tenants inventing event types cannot grow the exposition without
// limit. Work is counted once its transaction has committed (after the call returns, or through
// db::Tx::after_commit inside a caller's transaction), so a retried or rolled-back transaction
// counts nothing.
//
//   loyalty::metrics::counters().rules_cache.add(loyalty::metrics::CacheLookup::hit);

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace loyalty::metrics {

/// Counters indexed by a small enum (its last value must be `count_`).
template <typename Enum>
class EnumCounters {
 public:
  static constexpr std::size_t kSize = static_cast<std::size_t>(Enum::count_);
  void add(Enum which, std::uint64_t n = 1) noexcept {
    counts_[static_cast<std::size_t>(which)].fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t get(Enum which) const noexcept {
    return counts_[static_cast<std::size_t>(which)].load(std::memory_order_relaxed);
  }

 private:
  std::array<std::atomic<std::uint64_t>, kSize> counts_{};
};

/// `Columns` counters for each label value, for at most `Capacity` distinct values; later values
/// (and values longer than kMaxValueLength) count under "other". The first use of a value
/// claims the next free slot with one compare-and-swap; slots fill in order and are never
/// freed, so two threads adding the same new value always end on one slot.
template <std::size_t Capacity, std::size_t Columns = 1>
class LabelledCounters {
 public:
  static constexpr std::size_t kMaxValueLength = 64;

  /// Adds `n` to column `column` (< Columns) of `value`'s counters.
  void add(std::string_view value, std::size_t column = 0, std::uint64_t n = 1) noexcept {
    slot_counts(value)[column].fetch_add(n, std::memory_order_relaxed);
  }

  /// Calls fn(value, counts) for every value seen, in first-seen order, then for "other" when
  /// anything was counted there; counts[i] is column i.
  template <typename Fn>
  void each(Fn&& fn) const {
    std::array<std::uint64_t, Columns> counts{};
    for (const auto& slot : slots_) {
      if (slot.state.load(std::memory_order_acquire) != kReady) break;
      for (std::size_t i = 0; i < Columns; ++i) counts[i] = slot.counts[i].load();
      fn(std::string_view(slot.text.data(), slot.length), counts);
    }
    bool any = false;
    for (std::size_t i = 0; i < Columns; ++i) {
      counts[i] = other_[i].load();
      any = any || counts[i] > 0;
    }
    if (any) fn(std::string_view("other"), counts);
  }

 private:
  static constexpr int kFree = 0, kWriting = 1, kReady = 2;
  struct Slot {
    std::atomic<int> state{kFree};
    std::size_t length = 0;
    std::array<char, kMaxValueLength> text{};
    std::array<std::atomic<std::uint64_t>, Columns> counts{};
  };
  using Counts = std::array<std::atomic<std::uint64_t>, Columns>;

  Counts& slot_counts(std::string_view value) noexcept {
    if (value.size() > kMaxValueLength || value == "other") return other_;
    for (auto& slot : slots_) {
      int state = slot.state.load(std::memory_order_acquire);
      if (state == kFree) {
        int expected = kFree;
        if (slot.state.compare_exchange_strong(expected, kWriting, std::memory_order_acq_rel)) {
          value.copy(slot.text.data(), value.size());
          slot.length = value.size();
          slot.state.store(kReady, std::memory_order_release);
          return slot.counts;
        }
        state = expected;
      }
      // Another thread is naming this slot: wait the few instructions it takes.
      while (state == kWriting) state = slot.state.load(std::memory_order_acquire);
      if (std::string_view(slot.text.data(), slot.length) == value) return slot.counts;
    }
    return other_;
  }

  std::array<Slot, Capacity> slots_{};
  Counts other_{};
};

/// How an event that was processed ended (rejected events are counted by problem type).
enum class EventOutcome : std::uint8_t {
  rewarded,      ///< at least one reward reserved for the customer
  not_rewarded,  ///< processed, nothing given (no rule matched, caps, budgets...)
  replayed,      ///< an idempotency key seen before: the stored answer again
  count_
};
constexpr std::array<std::string_view, 3> kEventOutcomeNames{"rewarded", "not_rewarded",
                                                             "replayed"};

/// One rule evaluated against one event.
enum class RuleEvaluation : std::uint8_t {
  matched,
  not_matched,
  error,  ///< stopped by a limit (steps, memory, depth): treated as not matched
  count_
};
constexpr std::array<std::string_view, 3> kRuleEvaluationNames{"matched", "not_matched", "error"};

/// Changes of an issuance's state made by this process. Expiry runs in `loyaltyctl expire`.
enum class IssuanceTransition : std::uint8_t {
  reserved,   ///< created by an event, budget reserved
  issued,     ///< reserved -> issued by the worker
  redeemed,   ///< issued -> redeemed at a till
  cancelled,  ///< reserved|issued -> cancelled by an admin
  refunded,   ///< reserved|issued -> cancelled by a refund event
  count_
};
constexpr std::array<std::string_view, 5> kIssuanceTransitionNames{"reserved", "issued", "redeemed",
                                                                   "cancelled", "refunded"};

/// How the rules cache answered.
enum class CacheLookup : std::uint8_t {
  hit,          ///< served from memory
  revalidated,  ///< the tenant's rules_version read again and unchanged: programs kept
  miss,         ///< rules loaded and compiled
  count_
};
constexpr std::array<std::string_view, 3> kCacheLookupNames{"hit", "revalidated", "miss"};

/// How many events each group commit held (events/group_commit.cpp), as a histogram: the count
/// of groups of at most each bound, their number and the events in them.
class GroupSizes {
 public:
  static constexpr std::array<std::uint64_t, 6> kBounds{1, 2, 4, 8, 16, 32};
  void observe(std::uint64_t events) noexcept {
    for (std::size_t i = 0; i < kBounds.size(); ++i) {
      if (events <= kBounds[i]) buckets_[i].fetch_add(1, std::memory_order_relaxed);
    }
    groups_.fetch_add(1, std::memory_order_relaxed);
    events_.fetch_add(events, std::memory_order_relaxed);
  }
  std::uint64_t at_most(std::size_t bound_index) const noexcept {
    return buckets_[bound_index].load(std::memory_order_relaxed);
  }
  std::uint64_t groups() const noexcept { return groups_.load(std::memory_order_relaxed); }
  std::uint64_t events() const noexcept { return events_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size()> buckets_{};
  std::atomic<std::uint64_t> groups_{0}, events_{0};
};

/// Every counter of the library.
struct Counters {
  /// Events processed, by event type; columns are EventOutcome.
  LabelledCounters<32, kEventOutcomeNames.size()> events;
  /// Events not processed, by problem type (validation-failed, unknown-customer, ...).
  LabelledCounters<24> events_rejected;
  EnumCounters<RuleEvaluation> rule_evaluations;
  /// Matching rules (or events) that gave nothing, by reason (per_customer_cap, budget_exhausted,
  /// customer_not_active, ...).
  LabelledCounters<24> rewards_not_issued;
  EnumCounters<IssuanceTransition> issuances;
  /// Redemption attempts, by outcome: "redeemed" or the problem type of the refusal.
  LabelledCounters<24> redemptions;
  EnumCounters<CacheLookup> rules_cache;
  /// Groups of events committed together (a retried group counts once, when it ends).
  GroupSizes event_groups;
};

/// This process's counters.
Counters& counters() noexcept;

}  // namespace loyalty::metrics
