#pragma once
// Private: reading reward rows, shared by the catalogue and the code pool.

#include "db/tx.hpp"

#include <loyalty/rewards/rewards.hpp>

namespace loyalty::rewards {

/// The SELECT list row_to_reward reads, over rewards `r` joined with kRewardPoolJoin.
inline constexpr const char* kRewardColumns =
    "r.id::text, r.name, r.description, r.type, r.config::text, r.cost_minor, r.currency, "
    "r.points, r.stock, r.requires_pin, "
    "to_char(r.valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "to_char(r.valid_until AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "r.validity_days, r.budget_id::text, r.active, "
    "to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "to_char(r.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "coalesce(p.available, 0), coalesce(p.assigned, 0), coalesce(p.redeemed, 0), "
    "r.points_price";

/// Pool counts of voucher rewards (an index-only scan of reward_codes_pool).
inline constexpr const char* kRewardPoolJoin =
    "LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE c.status = 'available') AS available, "
    "count(*) FILTER (WHERE c.status = 'assigned') AS assigned, "
    "count(*) FILTER (WHERE c.status = 'redeemed') AS redeemed FROM reward_codes c "
    "WHERE c.tenant_id = r.tenant_id AND c.reward_id = r.id) p ON r.type = 'voucher'";

Reward row_to_reward(const pqxx::row& r);

/// The reward with this id. Throws Error(not_found).
Reward load_reward(db::Tx& tx, const std::string& tenant_id, const std::string& id);

}  // namespace loyalty::rewards
