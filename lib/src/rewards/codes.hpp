#pragma once
// Private: voucher codes and stock for the event pipeline and redemptions, inside the caller's
// transaction (tenant set). Each code goes to exactly one issuance.

#include "db/tx.hpp"

#include <optional>
#include <string>

namespace loyalty::rewards {

/// Assigns a code of a voucher reward to an issuance (which must exist: reward_codes references
/// it). Source "pool": an available uploaded code, taken with FOR UPDATE SKIP LOCKED so
/// concurrent issuances never get the same one; nullopt when the pool is empty. Source
/// "generated": a new random code (prefix + alphabet without look-alikes), retried on the rare
/// collision with any code of the tenant. Throws Error(not_found) for an unknown reward,
/// Error(invalid, "not-a-voucher") for a reward of another type.
std::optional<std::string> allocate_code(db::Tx& tx, const std::string& tenant_id,
                                         const std::string& reward_id,
                                         const std::string& issuance_id);

/// Marks an assigned code redeemed; false when the code is not assigned (unknown, available, or
/// already redeemed).
bool mark_code_redeemed(db::Tx& tx, const std::string& tenant_id, const std::string& code);

/// Takes one item from a physical reward's stock by a conditional UPDATE (stock never goes
/// below zero); false when none is left. Rewards without a stock count are unlimited (true).
bool take_stock(db::Tx& tx, const std::string& tenant_id, const std::string& reward_id);

/// Puts one item back (an issuance of a physical reward was cancelled).
void return_stock(db::Tx& tx, const std::string& tenant_id, const std::string& reward_id);

}  // namespace loyalty::rewards
