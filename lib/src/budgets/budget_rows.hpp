#pragma once
// Private: reading budget rows, shared by the budget and ledger code.

#include "db/tx.hpp"

#include <loyalty/budgets/budgets.hpp>

namespace loyalty::budgets {

/// The SELECT list row_to_budget reads, over a budgets row aliased `b`.
inline constexpr const char* kBudgetColumns =
    "b.id::text, b.name, b.currency, b.total_minor, b.reserved_minor, b.utilized_minor, "
    "b.spent_minor, b.hard_cap, rtrim(rtrim(b.soft_cap_threshold::text, '0'), '.'), b.period, "
    "to_char(b.period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "to_char(b.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "to_char(b.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

Budget row_to_budget(const pqxx::row& r);

/// Locks the budget (an id), rolling it into the current period. Throws Error(not_found).
Budget lock_budget(db::Tx& tx, const std::string& tenant_id, const std::string& budget_id,
                   const Actor& actor);

}  // namespace loyalty::budgets
