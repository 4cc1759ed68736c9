#pragma once
// Private: what a refund event does instead of evaluating rules.

#include "events/stages.hpp"

#include <loyalty/core/actor.hpp>
#include <nlohmann/json.hpp>

namespace loyalty::events {

/// Takes back what the refunded event (data.original_event_id, an event of the same customer)
/// gave: its reserved and issued rewards cancelled with their budgets released, except points,
/// which a partial refund takes back pro rata; redeemed rewards are kept. Returns the answer's
/// `refund` object. Error(invalid) with a pointer when the original is not the customer's, or is
/// itself a refund.
nlohmann::json refund_event(db::Tx& tx, const EventContext& ctx, const Actor& actor);

}  // namespace loyalty::events
