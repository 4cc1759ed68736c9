// Adjustments of a customer's points by an admin or the operator, each with its reason.
#include "audit/audit.hpp"
#include "db/tx.hpp"
#include "points/lots.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/core/money.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/points/points.hpp>

namespace loyalty::points {

nlohmann::json to_json(const Adjustment& a) {
  return {{"points", a.points},
          {"balance", a.balance},
          {"lot_id", a.lot_id > 0 ? nlohmann::json(a.lot_id) : nlohmann::json()}};
}

Adjustment adjust(db::Database& database, const std::string& tenant_id,
                  const std::string& customer_id, std::int64_t points, const std::string& reason,
                  const Actor& actor) {
  if (!is_uuid(customer_id)) throw_not_found("customer");
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    if (!lock_customer(tx, tenant_id, customer_id)) throw_not_found("customer");
    // After the customer: another tenant's customer id is not found, whatever the body.
    std::vector<FieldError> errors;
    if (points == 0 || points > kMaxPoints || points < -kMaxPoints) {
      errors.push_back({"/points", "must be a non-zero whole number of points, at most " +
                                       std::to_string(kMaxPoints) + " either way"});
    }
    if (reason.empty() || reason.size() > 500) {
      errors.push_back({"/reason", "required: why, in 1 to 500 characters"});
    }
    if (!errors.empty()) throw_invalid("the adjustment is not valid", errors);
    Cause cause;
    cause.kind = "adjustment";
    cause.reason = reason;
    Adjustment out;
    out.points = points;
    if (points > 0) {
      out.lot_id = credit(tx, tenant_id, customer_id, points, "", cause, actor);
    } else {
      std::int64_t taken =
          debit(tx, tenant_id, customer_id, -points, Shortfall::refuse, Lots::held, cause, actor);
      if (taken == 0) {
        auto held = balance(tx, tenant_id, customer_id).value_or(0);
        throw Error(ErrorCode::invalid, "insufficient-points",
                    "the balance is " + std::to_string(held) + ": it cannot go below zero", {})
            .extend("balance", std::to_string(held));
      }
    }
    out.balance = balance(tx, tenant_id, customer_id).value_or(0);
    audit::record(tx, tenant_id, actor, "points.adjust", "customer", customer_id, nullptr,
                  {{"points", points}, {"reason", reason}, {"balance", out.balance}});
    return out;
  });
}

}  // namespace loyalty::points
