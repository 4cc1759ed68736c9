// A customer claims a reward with points: spend, issue, reserve and charge, in one transaction.
#include "audit/audit.hpp"
#include "budgets/ledger_ops.hpp"
#include "catalog/refs.hpp"
#include "db/tx.hpp"
#include "issuances/internal.hpp"
#include "issuances/reserve.hpp"
#include "points/lots.hpp"
#include "rewards/issuing.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/points/points.hpp>

namespace loyalty::points {

namespace {

const db::Query kClaimByKey{"points_claim_by_key", R"sql(
SELECT customer_id::text, reward_id::text, issuance_id::text, points_spent, balance_after
  FROM claim_keys WHERE tenant_id = $1::uuid AND idempotency_key = $2
)sql"};

const db::Query kKeepClaimKey{"points_keep_claim_key", R"sql(
INSERT INTO claim_keys (tenant_id, idempotency_key, customer_id, reward_id, issuance_id,
                        points_spent, balance_after)
VALUES ($1::uuid, $2, $3::uuid, $4::uuid, $5::uuid, $6, $7)
)sql"};

/// The issuance, reserved, with a fresh code for a generated voucher (another one when the
/// code is taken) or one from the pool.
issuances::Issuance reserve_claimed(db::Tx& tx, const std::string& tenant_id,
                                    const std::string& customer_id, const std::string& reward_id,
                                    const rewards::IssuingTerms& terms) {
  issuances::NewReserved item;
  item.customer_id = customer_id;
  item.reward_id = reward_id;
  item.budget_id = terms.budget_id;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (terms.generated) item.code = rewards::new_voucher_code(terms.config);
    auto made = issuances::create_reserved(tx, tenant_id, item);
    switch (made.outcome) {
      case issuances::ReserveOutcome::created:
        return *made.issuance;
      case issuances::ReserveOutcome::reward_missing:
        throw_not_found("reward");
      case issuances::ReserveOutcome::pool_empty:
        throw Error(ErrorCode::conflict, "pool-empty", "the reward's code pool is empty");
      case issuances::ReserveOutcome::code_taken:
        continue;
    }
  }
  throw Error(ErrorCode::unavailable, "code-generation-failed",
              "no free voucher code was found: try again");
}

}  // namespace

nlohmann::json to_json(const Claim& c) {
  return {{"issuance", issuances::to_json(c.issuance, issuances::CodeView::clear)},
          {"points_spent", c.points_spent},
          {"balance", c.balance}};
}

Claim claim_reward(db::Database& database, const std::string& tenant_id,
                   const std::string& customer_id, const std::string& reward, const Actor& actor,
                   std::optional<std::int64_t> if_spendable, const std::string& idempotency_key) {
  if (!is_uuid(customer_id)) throw_not_found("customer");
  if (idempotency_key.size() > 200) {
    throw_invalid("the claim is not valid",
                  {{"/idempotency_key", "must be a string of 1 to 200 characters"}});
  }
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    // The customer first: the lock order of every writer of points (and of the event pipeline,
    // which locks its customer before any budget).
    auto status = lock_customer(tx, tenant_id, customer_id);
    if (!status) throw_not_found("customer");
    // After the customer: another tenant's customer id is not found, whatever the body.
    if (reward.empty() || reward.size() > 200) {
      throw_invalid("the claim is not valid", {{"/reward", "required: the reward's id or name"}});
    }
    auto reward_id = catalog::require_id(tx, tenant_id, catalog::Entity::reward, reward);
    // A claim made before under the key (a till's retry): its answer again, whatever changed
    // since (the stock it took, the customer's status), with the issuance as it is now.
    if (!idempotency_key.empty()) {
      auto kept = tx.exec(kClaimByKey, tenant_id, idempotency_key);
      if (!kept.empty()) {
        const auto& k = kept[0];
        if (k["customer_id"].as<std::string>() != customer_id ||
            k["reward_id"].as<std::string>() != reward_id) {
          throw Error(ErrorCode::invalid, "idempotency-key-reused",
                      "this idempotency key was used for another claim",
                      {{"/idempotency_key", "already used for another customer or reward"}});
        }
        Claim out;
        out.issuance = issuances::load_in(tx, tenant_id, k["issuance_id"].as<std::string>());
        out.points_spent = k["points_spent"].as<std::int64_t>();
        out.balance = k["balance_after"].as<std::int64_t>();
        out.replayed = true;
        return out;
      }
    }
    if (*status != "active") {
      throw Error(ErrorCode::conflict, "customer-not-active",
                  "the customer is " + *status + ": they cannot claim rewards")
          .extend("status", *status);
    }
    auto terms = rewards::read_issuing_terms(tx, tenant_id, {reward_id}).at(reward_id);
    if (!terms.points_price) {
      throw Error(ErrorCode::invalid, "not-claimable-with-points",
                  "the reward '" + terms.name + "' has no points price",
                  {{"/reward", "has no points price"}});
    }
    if (!terms.issuable_now) {
      throw Error(ErrorCode::conflict, "reward-not-available",
                  "the reward '" + terms.name + "' is inactive or outside its dates");
    }
    if (terms.stock && *terms.stock <= 0) {
      throw Error(ErrorCode::conflict, "out-of-stock",
                  "the reward '" + terms.name + "' is out of stock");
    }
    if (terms.pooled && !terms.code_available) {
      throw Error(ErrorCode::conflict, "pool-empty", "the reward's code pool is empty");
    }
    const std::int64_t price = *terms.points_price;
    const std::int64_t held = spendable(tx, tenant_id, customer_id);
    auto insufficient = [&](std::int64_t have) {
      return Error(ErrorCode::invalid, "insufficient-points",
                   "the customer has " + std::to_string(have) + " spendable points; '" +
                       terms.name + "' costs " + std::to_string(price))
          .extend("points_price", std::to_string(price))
          .extend("spendable", std::to_string(have));
    };
    if (if_spendable && held != *if_spendable) {
      throw Error(ErrorCode::conflict, "points-changed",
                  "the customer's spendable points changed since the claim was confirmed")
          .extend("spendable", std::to_string(held));
    }
    if (held < price) throw insufficient(held);

    auto issuance = reserve_claimed(tx, tenant_id, customer_id, reward_id, terms);
    if (terms.budget_id) {
      auto reserved = budgets::reserve(tx, tenant_id, *terms.budget_id, terms.cost_minor,
                                       terms.currency, issuance.id, actor);
      if (reserved.status == budgets::ReserveStatus::exhausted) {
        throw Error(ErrorCode::conflict, "budget-exhausted",
                    "the reward's budget cannot pay for another one");
      }
    }
    if (terms.stock) rewards::take_stock_with_commit(tx, tenant_id, {reward_id});

    Cause cause;
    cause.kind = "spend";
    cause.reason = "claimed: " + terms.name;
    cause.issuance_id = issuance.id;
    const std::int64_t spent =
        debit(tx, tenant_id, customer_id, price, Shortfall::refuse, Lots::live, cause, actor);
    if (spent != price) throw insufficient(spendable(tx, tenant_id, customer_id));

    Claim out;
    out.issuance = issuances::issue_in(tx, tenant_id, issuance.id);
    out.points_spent = spent;
    out.balance = balance(tx, tenant_id, customer_id).value_or(0);
    if (!idempotency_key.empty()) {
      tx.exec(kKeepClaimKey, tenant_id, idempotency_key, customer_id, reward_id, issuance.id, spent,
              out.balance);
    }
    audit::record(tx, tenant_id, actor, "points.claim", "issuance", issuance.id, nullptr,
                  {{"reward_id", reward_id}, {"points", spent}});
    return out;
  });
}

}  // namespace loyalty::points
