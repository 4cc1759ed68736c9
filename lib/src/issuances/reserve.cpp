// What the event pipeline reads and writes of issuances: cap counts, reserved issuances (with
// their pool codes), and what a refund takes back.
#include "issuances/reserve.hpp"

#include "issuances/internal.hpp"
#include "points/lots.hpp"

namespace loyalty::issuances {

namespace {

using db::Query;

// The customer's own issuances from a rule: an index range of issuances_caps.
const Query kCustomerCaps{"iss_customer_caps", R"sql(
  SELECT count(*) FILTER (
           WHERE created_at >= coalesce(budget_period_start($4, $5, app_now()), '-infinity'))
           AS in_period,
         coalesce(max(created_at) > app_now() - $6 * interval '1 second', false) AS cooling
    FROM issuances
   WHERE tenant_id = $1::uuid AND rule_id = $2::uuid AND customer_id = $3::uuid
     AND state <> 'cancelled')sql"};
const Query kRuleCount{"iss_rule_count", R"sql(
  SELECT count(*) FROM issuances
   WHERE tenant_id = $1::uuid AND rule_id = $2::uuid AND state <> 'cancelled'
     AND created_at >= coalesce(budget_period_start($3, $4, app_now()), '-infinity'))sql"};
const Query kRuleLock{"iss_rule_lock", "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))"};

// The issuance with its reward and, for a pooled voucher, a code from the pool: the row as the
// API shows it (kIssuanceColumns), then whether $8 (a generated code) is taken. No issuance
// (null id) when the pool is empty or the code taken; no row at all when the reward is gone.
// The pool's codes go out in code order, read from reward_codes_available (migration 0072):
// with no order, the planner chose a sequential scan for LIMIT 1, which reads every used code.
const std::string kCreateSql = std::string(R"sql(
  WITH r AS (
    SELECT *, type = 'voucher' AND coalesce(config->>'source', 'pool') = 'pool' AS pooled
      FROM rewards WHERE tenant_id = $1::uuid AND id = $5::uuid),
  c AS (
    SELECT code FROM reward_codes
     WHERE tenant_id = $1::uuid AND reward_id = $5::uuid AND status = 'available'
       AND (SELECT pooled FROM r)
     ORDER BY code LIMIT 1 FOR UPDATE SKIP LOCKED),
  taken AS (
    SELECT $8::text IS NOT NULL
           AND (EXISTS (SELECT 1 FROM issuances WHERE tenant_id = $1::uuid AND code = $8)
                OR EXISTS (SELECT 1 FROM reward_codes WHERE tenant_id = $1::uuid AND code = $8))
           AS yes),
  i AS (
    INSERT INTO issuances (tenant_id, customer_id, event_id, rule_id, reward_id, budget_id,
                           campaign_id, cost_minor, currency, points, expires_at, code)
    SELECT $1::uuid, $2::uuid, nullif($3, '')::uuid, nullif($4, '')::uuid, r.id, $6::uuid,
           $7::uuid, r.cost_minor,
           r.currency,
           CASE WHEN r.type = 'points' AND $9::integer IS NOT NULL
                THEN floor(r.points::numeric * $9::integer / 10000)::bigint ELSE r.points END,
           CASE WHEN r.validity_days IS NOT NULL
                THEN app_now() + r.validity_days * interval '1 day' ELSE r.valid_until END,
           CASE WHEN r.pooled THEN (SELECT code FROM c) ELSE $8 END
      FROM r
     WHERE (NOT r.pooled OR EXISTS (SELECT 1 FROM c)) AND NOT (SELECT yes FROM taken)
    RETURNING *),
  a AS (
    UPDATE reward_codes x SET status = 'assigned', issuance_id = i.id, assigned_at = now()
      FROM i WHERE x.tenant_id = $1::uuid AND x.code = i.code AND (SELECT pooled FROM r))
  SELECT )sql") + kIssuanceColumns +
                               R"sql(, (SELECT yes FROM taken) AS code_taken
    FROM r LEFT JOIN i ON true)sql";
const Query kCreate{"iss_create_reserved", kCreateSql.c_str()};

const Query kRefundTargets{"iss_refund_targets", R"sql(
  SELECT i.id::text AS id, i.state, coalesce(i.points, 0) AS points, r.type
    FROM issuances i JOIN rewards r ON r.tenant_id = i.tenant_id AND r.id = i.reward_id
   WHERE i.tenant_id = $1::uuid AND i.event_id = $2::uuid
   ORDER BY i.created_at)sql"};

}  // namespace

CustomerCapCounts count_customer_caps(db::Tx& tx, const std::string& tenant_id,
                                      const std::string& rule_id, const std::string& customer_id,
                                      const std::string& period, const std::string& timezone,
                                      std::int64_t cooldown_seconds) {
  auto row =
      tx.exec1(kCustomerCaps, tenant_id, rule_id, customer_id, period, timezone, cooldown_seconds);
  return {row["in_period"].as<std::int64_t>(), row["cooling"].as<bool>()};
}

void lock_rule_issuance(db::Tx& tx, const std::string& rule_id) { tx.exec(kRuleLock, rule_id); }

std::int64_t count_rule_issuances(db::Tx& tx, const std::string& tenant_id,
                                  const std::string& rule_id, const std::string& period,
                                  const std::string& timezone) {
  return tx.exec1(kRuleCount, tenant_id, rule_id, period, timezone)[0].as<std::int64_t>();
}

Reserved create_reserved(db::Tx& tx, const std::string& tenant_id, const NewReserved& item) {
  auto rows =
      tx.exec(kCreate, tenant_id, item.customer_id, item.event_id, item.rule_id, item.reward_id,
              item.budget_id, item.campaign_id, item.code, item.points_multiplier_bp);
  Reserved out;
  if (rows.empty()) return out;
  if (rows[0][0].is_null()) {
    out.outcome =
        rows[0]["code_taken"].as<bool>() ? ReserveOutcome::code_taken : ReserveOutcome::pool_empty;
    return out;
  }
  out.outcome = ReserveOutcome::created;
  out.issuance = row_to_issuance(rows[0]);
  return out;
}

std::vector<RefundTarget> refund_targets(db::Tx& tx, const std::string& tenant_id,
                                         const std::string& event_id) {
  std::vector<RefundTarget> out;
  for (const auto& r : tx.exec(kRefundTargets, tenant_id, event_id)) {
    out.push_back({r["id"].as<std::string>(), r["state"].as<std::string>(),
                   r["type"].as<std::string>(), r["points"].as<std::int64_t>()});
  }
  return out;
}

std::int64_t take_back_points(db::Tx& tx, const std::string& tenant_id,
                              const std::string& customer_id, const std::string& issuance_id,
                              const std::string& refund_event_id, std::int64_t points) {
  points::lock_customers(tx, tenant_id, {customer_id});
  auto cause = points::taking_back(tx, tenant_id, issuance_id, "refund", "refunded in part");
  cause.event_id = refund_event_id;
  return points::debit(tx, tenant_id, customer_id, points, points::Shortfall::partial,
                       points::Lots::held, cause, Actor::system());
}

}  // namespace loyalty::issuances
