#pragma once
// Private: referrals inside other modules' transactions — the customer's creation (linking a
// new customer to the owner of the code they joined with) and the event pipeline (completing a
// referral at the referee's first qualifying event).

#include "db/tx.hpp"

#include <loyalty/core/actor.hpp>
#include <loyalty/core/money.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace loyalty::referrals {

/// Links the customer just created in `tx` to the owner of `code`: referrals::link_referrer's
/// checks and errors, in the caller's transaction.
void link_new_customer(db::Tx& tx, const std::string& tenant_id, const std::string& customer_id,
                       const std::string& code, const std::string& channel, const Actor& actor);

/// Called by the event pipeline for a customer whose row says they have an open referral, after
/// a new event (not a replay, not a refund) went through the stages: when the event qualifies
/// under the tenant's settings, completes the referral (a conditional UPDATE: once, whichever
/// of concurrent first events gets there first), queues the referral.completed outbox row and
/// the job that processes the two referral.completed events once `tx` commits.
void on_event(db::Tx& tx, const std::string& tenant_id, const nlohmann::json& tenant_settings,
              const std::string& customer_id, const std::string& event_id,
              const std::string& event_type, const std::optional<MinorUnits>& amount);

}  // namespace loyalty::referrals
