// A refund event: what its original event gave, taken back.
#include "events/refund.hpp"

#include "issuances/internal.hpp"
#include "issuances/reserve.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/core/money.hpp>

namespace loyalty::events {

namespace {

const db::Query kOriginal{"ev_original", R"sql(
  SELECT customer_id::text AS customer_id, coalesce(amount_minor, 0) AS amount_minor, type
    FROM events WHERE tenant_id = $1::uuid AND id = $2::uuid)sql"};

}  // namespace

nlohmann::json refund_event(db::Tx& tx, const EventContext& ctx, const Actor& actor) {
  const auto& req = ctx.request;
  const auto& original_id = *req.original_event_id;
  auto original = tx.exec(kOriginal, ctx.tenant_id, original_id);
  if (original.empty() || original[0]["customer_id"].is_null() ||
      original[0]["customer_id"].as<std::string>() != ctx.customer.id) {
    throw_invalid("the refund is not valid",
                  {{"/data/original_event_id", "not an event of this customer"}});
  }
  if (original[0]["type"].as<std::string>() == "refund") {
    throw_invalid("the refund is not valid",
                  {{"/data/original_event_id", "a refund cannot be refunded"}});
  }
  MinorUnits original_amount = original[0]["amount_minor"].as<std::int64_t>();
  bool partial = req.amount && original_amount > 0 && *req.amount < original_amount;
  nlohmann::json out = {{"original_event_id", original_id},
                        {"partial", partial},
                        {"cancelled", nlohmann::json::array()},
                        {"kept_redeemed", nlohmann::json::array()},
                        {"points_debited", 0}};
  std::int64_t debited = 0;
  for (const auto& target : issuances::refund_targets(tx, ctx.tenant_id, original_id)) {
    if (target.state == "redeemed") {
      out["kept_redeemed"].push_back(target.id);
    } else if (target.reward_type == "points" && target.state == "issued" && partial) {
      // Points are taken back in proportion to the refunded share, rounded down (exact in
      // 128 bits: points up to kMaxPoints times an amount up to kMaxAmount overflows 64).
      std::int64_t share = pro_rata(target.points, *req.amount, original_amount);
      if (share > 0) {
        debited =
            checked_add(debited, issuances::take_back_points(tx, ctx.tenant_id, ctx.customer.id,
                                                             target.id, ctx.event_id, share));
      }
    } else if (target.state == "reserved" || target.state == "issued") {
      issuances::cancel_in(tx, ctx.tenant_id, target.id, "refund", actor);
      out["cancelled"].push_back(target.id);
    }
  }
  out["points_debited"] = debited;
  return out;
}

}  // namespace loyalty::events
