#pragma once
// Private: a rule cap's period in the names of the SQL function budget_period_start().

#include <loyalty/rules/definition.hpp>

#include <optional>
#include <string>

namespace loyalty::events {

/// "daily", "weekly", "monthly", or "none" (no cap, or a lifetime one: counted from the start).
inline std::string cap_period_sql_name(const std::optional<rules::Cap>& cap) {
  if (!cap) return "none";
  switch (cap->period) {
    case rules::CapPeriod::day:
      return "daily";
    case rules::CapPeriod::week:
      return "weekly";
    case rules::CapPeriod::month:
      return "monthly";
    case rules::CapPeriod::lifetime:
      return "none";
  }
  return "none";
}

}  // namespace loyalty::events
