#pragma once
// Private: what the rules cache keeps per tenant.

#include <loyalty/events/events.hpp>
#include <loyalty/rules/engine.hpp>
#include <loyalty/rulesets/rulesets.hpp>

#include <chrono>
#include <optional>

namespace loyalty::events {

struct RulesCache::Entry {
  std::int64_t version = 0;
  std::chrono::steady_clock::time_point checked_at;
  std::optional<std::chrono::system_clock::time_point> next_change;
  std::string timezone;
  nlohmann::json settings;
  bool active = true;
  bool segments = false;     ///< the tenant defines segments: its events queue their recompute
  std::string tier_measure;  ///< points_earned | amount_spent; empty: the tenant has no tiers
  std::shared_ptr<const std::vector<rulesets::ActiveRule>> rules;
  std::shared_ptr<const rules::RuleSet> compiled;  ///< index-aligned with rules
};

}  // namespace loyalty::events
