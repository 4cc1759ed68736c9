// Lots and movements of points: every statement that changes a customer's points, in one place.
#include "points/lots.hpp"

#include "catalog/fields.hpp"

#include <loyalty/core/error.hpp>

#include <algorithm>

namespace loyalty::points {

namespace {

using db::Query;

const Query kLockCustomers{"points_lock_customers", R"sql(
  SELECT 1 FROM customers
   WHERE tenant_id = $1::uuid AND id = ANY ($2::uuid[])
   ORDER BY id FOR NO KEY UPDATE)sql"};

const Query kBalance{"points_balance", R"sql(
  SELECT points_balance FROM customers WHERE tenant_id = $1::uuid AND id = $2::uuid)sql"};

const Query kLockCustomer{"points_lock_customer", R"sql(
  SELECT status FROM customers
   WHERE tenant_id = $1::uuid AND id = $2::uuid FOR NO KEY UPDATE)sql"};

// One lot, its movement and the balance. $5: expiry (text, empty: never).
const Query kCredit{"points_credit", R"sql(
  WITH lot AS (
    INSERT INTO points_lots (tenant_id, customer_id, amount, remaining, expires_at, issuance_id)
    VALUES ($1::uuid, $2::uuid, $3, $3, nullif($4, '')::timestamptz, $7::uuid)
    RETURNING id, expires_at),
  c AS (
    UPDATE customers SET points_balance = points_balance + $3, updated_at = now()
     WHERE tenant_id = $1::uuid AND id = $2::uuid
    RETURNING id)
  INSERT INTO points_ledger (tenant_id, customer_id, kind, points, lot_id, expires_at, reason,
                             issuance_id, event_id, rule_id, actor, reference)
  SELECT $1::uuid, c.id, $5, $3, lot.id, lot.expires_at, left($6, 500), $7::uuid, $8::uuid, $9::uuid, $10,
         $11
    FROM lot, c
  RETURNING lot_id)sql"};

// What issued points rewards earn ($2 customers, $3 points, $4 issuances: parallel arrays): a
// lot each, expiring with the issuance. Issuances and customers are reached by their ids. With
// the tenant's points_pending_days (w), a lot whose event occurred less than that many days ago
// (counted in 24-hour days, in UTC) is pending until then: its points count in points_pending,
// not in the spendable balance, and its movement says so (pending = points). The events are
// read only when the tenant holds points.
const Query kCreditIssued{"points_credit_issued", R"sql(
  WITH p AS (
    SELECT * FROM unnest($2::uuid[], $3::bigint[], $4::uuid[]) AS p(customer_id, points,
                                                                      issuance_id)),
  w AS (
    SELECT coalesce((settings->>'points_pending_days')::int, 0) AS days
      FROM tenants WHERE id = $1::uuid),
  i AS (
    SELECT i.id, i.customer_id, i.event_id, i.rule_id, i.expires_at, p.points, r.name,
           e.until AS pending_until
      FROM issuances i
      JOIN p ON p.issuance_id = i.id
      JOIN rewards r ON r.tenant_id = i.tenant_id AND r.id = i.reward_id
      LEFT JOIN LATERAL (
        SELECT e.occurred_at + make_interval(hours => 24 * w.days) AS until
          FROM w JOIN events e ON e.tenant_id = $1::uuid AND e.id = i.event_id
         WHERE w.days > 0
           AND e.occurred_at + make_interval(hours => 24 * w.days) > app_now()) e ON true
     WHERE i.tenant_id = $1::uuid AND i.id = ANY ($4::uuid[])),
  lots AS (
    INSERT INTO points_lots (tenant_id, customer_id, amount, remaining, expires_at, issuance_id,
                             pending_until)
    SELECT $1::uuid, i.customer_id, i.points, i.points, i.expires_at, i.id, i.pending_until
      FROM i
    RETURNING id, issuance_id),
  c AS (
    UPDATE customers
       SET points_balance = points_balance + (
             SELECT coalesce(sum(i.points) FILTER (WHERE i.pending_until IS NULL), 0)
               FROM i WHERE i.customer_id = customers.id),
           points_pending = points_pending + (
             SELECT coalesce(sum(i.points) FILTER (WHERE i.pending_until IS NOT NULL), 0)
               FROM i WHERE i.customer_id = customers.id),
           updated_at = now()
     WHERE tenant_id = $1::uuid AND id = ANY ($2::uuid[])
    RETURNING id)
  INSERT INTO points_ledger (tenant_id, customer_id, kind, points, pending, lot_id, expires_at,
                             reason, issuance_id, event_id, rule_id, actor)
  SELECT $1::uuid, i.customer_id, 'earn', i.points,
         CASE WHEN i.pending_until IS NULL THEN 0 ELSE i.points END, lots.id, i.expires_at,
         'earned: ' || i.name, i.id, i.event_id, i.rule_id, 'system'
    FROM i JOIN lots ON lots.issuance_id = i.id)sql"};

// The lots a debit takes from, in the order it takes them (expiry first, never-expiring last),
// each with what the lots before it hold: the live ones (points left, not past their expiry,
// not pending) for a spend; for a reversal ($12) those past their expiry too, which the expiry
// run has not emptied yet, and the pending lot of the issuance it takes back ($7), first. Other
// pending lots are never taken. The customer is locked, so the lots cannot change under this
// statement. What it takes from a pending lot leaves the spendable balance as it was.
const Query kDebit{"points_debit", R"sql(
  WITH live AS (
    SELECT id, remaining, pending,
           sum(remaining) OVER (ORDER BY pending DESC, expires_at ASC NULLS LAST, id) - remaining
             AS before
      FROM (SELECT id, remaining, expires_at,
                   (pending_until IS NOT NULL AND released_at IS NULL) AS pending
              FROM points_lots
             WHERE tenant_id = $1::uuid AND customer_id = $2::uuid AND remaining > 0
               AND ($12 OR expires_at IS NULL OR expires_at > app_now())
               AND (pending_until IS NULL OR released_at IS NOT NULL
                    OR ($12 AND issuance_id = $7::uuid))) l),
  take AS (
    SELECT id, pending, least(remaining, $3 - before) AS points FROM live
     WHERE before < $3 AND (NOT $4 OR (SELECT coalesce(sum(remaining), 0) FROM live) >= $3)),
  lots AS (
    UPDATE points_lots l SET remaining = l.remaining - t.points
      FROM take t WHERE l.tenant_id = $1::uuid AND l.id = t.id
    RETURNING l.id),
  c AS (
    UPDATE customers
       SET points_balance = points_balance - (
             SELECT coalesce(sum(points), 0) FROM take WHERE NOT pending),
           points_pending = points_pending - (
             SELECT coalesce(sum(points), 0) FROM take WHERE pending),
           updated_at = now()
     WHERE tenant_id = $1::uuid AND id = $2::uuid AND EXISTS (SELECT 1 FROM take)
    RETURNING id),
  m AS (
    INSERT INTO points_ledger (tenant_id, customer_id, kind, points, pending, lot_id, reason,
                               issuance_id, event_id, rule_id, reverses_id, actor)
    SELECT $1::uuid, $2::uuid, $5, -t.points, CASE WHEN t.pending THEN -t.points ELSE 0 END,
           t.id, left($6, 500), $7::uuid, $8::uuid, $9::uuid, $10::bigint, $11
      FROM take t ORDER BY t.id
    RETURNING points)
  SELECT coalesce(-sum(points), 0) AS taken FROM m)sql"};

const Query kSpendable{"points_spendable", R"sql(
  SELECT coalesce(sum(remaining), 0) FROM points_lots
   WHERE tenant_id = $1::uuid AND customer_id = $2::uuid AND remaining > 0
     AND (expires_at IS NULL OR expires_at > app_now())
     AND (pending_until IS NULL OR released_at IS NOT NULL))sql"};

const Query kBalances{"points_balances", R"sql(
  SELECT points_balance, points_pending FROM customers
   WHERE tenant_id = $1::uuid AND id = $2::uuid)sql"};

// A customer's pending lots with points in them, those coming due first first.
const Query kPendingLots{"points_pending_lots", R"sql(
  SELECT id, remaining,
         to_char(pending_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS until
    FROM points_lots
   WHERE tenant_id = $1::uuid AND customer_id = $2::uuid AND pending_until IS NOT NULL
     AND released_at IS NULL AND remaining > 0
   ORDER BY pending_until, id)sql"};

// Whether a customer has pending lots whose window is over (read before taking their lock).
const Query kHasDue{"points_has_due", R"sql(
  SELECT 1 FROM points_lots
   WHERE tenant_id = $1::uuid AND customer_id = $2::uuid AND pending_until IS NOT NULL
     AND released_at IS NULL AND pending_until <= (SELECT app_now())
   LIMIT 1)sql"};

// The customers' ($2, locked) pending lots whose window is over, released: a `release` movement
// for each lot with points left (points 0, pending -remaining), what they hold moved from
// points_pending to points_balance. An emptied lot (refunded in full, expired) is marked
// released with no movement.
const Query kRelease{"points_release", R"sql(
  WITH due AS (
    SELECT id, customer_id, remaining FROM points_lots
     WHERE tenant_id = $1::uuid AND customer_id = ANY ($2::uuid[]) AND pending_until IS NOT NULL
       AND released_at IS NULL AND pending_until <= (SELECT app_now())
     FOR UPDATE),
  lots AS (
    UPDATE points_lots l SET released_at = app_now()
      FROM due WHERE l.tenant_id = $1::uuid AND l.id = due.id
    RETURNING l.id),
  per_customer AS (
    SELECT customer_id, sum(remaining) AS points FROM due GROUP BY customer_id
    HAVING sum(remaining) > 0),
  c AS (
    UPDATE customers SET points_balance = points_balance + p.points,
                         points_pending = points_pending - p.points, updated_at = now()
      FROM per_customer p WHERE customers.tenant_id = $1::uuid AND customers.id = p.customer_id
    RETURNING customers.id),
  m AS (
    INSERT INTO points_ledger (tenant_id, customer_id, kind, points, pending, lot_id, reason,
                               actor)
    SELECT $1::uuid, due.customer_id, 'release', 0, -due.remaining, due.id,
           'released: the returns window is over', 'system'
      FROM due WHERE due.remaining > 0 ORDER BY due.id
    RETURNING pending)
  SELECT count(*) AS lots, coalesce(-sum(pending), 0) AS points FROM m)sql"};
// The customers with pending lots whose window is over, a batch of them (the expiry run).
const Query kDuePendingCustomers{"points_due_pending_customers", R"sql(
  SELECT DISTINCT customer_id::text FROM (
    SELECT customer_id FROM points_lots
     WHERE tenant_id = $1::uuid AND pending_until IS NOT NULL AND released_at IS NULL
       AND pending_until <= (SELECT app_now())
     ORDER BY pending_until LIMIT 500) due)sql"};
const Query kCountRelease{"points_count_release", R"sql(
  SELECT count(*) AS lots, coalesce(sum(remaining), 0) AS points FROM points_lots
   WHERE tenant_id = $1::uuid AND pending_until IS NOT NULL AND released_at IS NULL
     AND remaining > 0 AND pending_until <= (SELECT app_now()))sql"};

const Query kEarnEntry{"points_earn_entry", R"sql(
  SELECT id, rule_id::text FROM points_ledger
   WHERE tenant_id = $1::uuid AND issuance_id = $2::uuid AND kind = 'earn'
   ORDER BY id LIMIT 1)sql"};

// The customers with lots due to expire (points left, past expiry), a batch of them. The clock
// is read once, as (SELECT app_now()): app_now() reads a setting, which is not leakproof, so
// under row-level security a comparison with it cannot be an index condition, and the expiry
// index would be read for the whole tenant; a comparison with the subquery's value can.
const Query kDueCustomers{"points_due_customers", R"sql(
  SELECT DISTINCT customer_id::text FROM (
    SELECT customer_id FROM points_lots
     WHERE tenant_id = $1::uuid AND remaining > 0 AND expired_at IS NULL
       AND expires_at <= (SELECT app_now())
     ORDER BY expires_at LIMIT 500) due)sql"};
// Those customers' due lots emptied, each with its `expire` movement, the balances moved.
const Query kExpire{"points_expire", R"sql(
  WITH due AS (
    SELECT id, customer_id, remaining,
           (pending_until IS NOT NULL AND released_at IS NULL) AS pending
      FROM points_lots
     WHERE tenant_id = $1::uuid AND customer_id = ANY ($2::uuid[]) AND remaining > 0
       AND expired_at IS NULL AND expires_at <= (SELECT app_now())
     FOR UPDATE),
  lots AS (
    UPDATE points_lots l SET remaining = 0, expired_at = app_now()
      FROM due WHERE l.tenant_id = $1::uuid AND l.id = due.id
    RETURNING l.id),
  per_customer AS (
    SELECT customer_id, coalesce(sum(remaining) FILTER (WHERE NOT pending), 0) AS points,
           coalesce(sum(remaining) FILTER (WHERE pending), 0) AS pending
      FROM due GROUP BY customer_id),
  c AS (
    UPDATE customers SET points_balance = points_balance - p.points,
                         points_pending = points_pending - p.pending, updated_at = now()
      FROM per_customer p WHERE customers.tenant_id = $1::uuid AND customers.id = p.customer_id
    RETURNING customers.id),
  m AS (
    INSERT INTO points_ledger (tenant_id, customer_id, kind, points, pending, lot_id, reason,
                               actor)
    SELECT $1::uuid, due.customer_id, 'expire', -due.remaining,
           CASE WHEN due.pending THEN -due.remaining ELSE 0 END, due.id, 'expired', 'system'
      FROM due ORDER BY due.id
    RETURNING points)
  SELECT count(*) AS lots, coalesce(-sum(points), 0) AS points FROM m)sql"};
const Query kCountDue{"points_count_due", R"sql(
  SELECT count(*) AS lots, coalesce(sum(remaining), 0) AS points FROM points_lots
   WHERE tenant_id = $1::uuid AND remaining > 0 AND expired_at IS NULL
     AND expires_at <= (SELECT app_now()))sql"};

// Lots that expire within $2 days, each warned once: one notice a customer with what those lots
// hold and the first date. Lots are taken in customer order, so a batch splits at most one
// customer's.
const Query kWarn{"points_warn", R"sql(
WITH due AS (
  SELECT id FROM points_lots
   WHERE tenant_id = $1::uuid AND remaining > 0 AND expired_at IS NULL
     AND expiry_notice_at IS NULL
     AND expires_at > (SELECT app_now())
     AND expires_at <= (SELECT app_now() + make_interval(days => $2))
   ORDER BY customer_id, id LIMIT 500 FOR UPDATE SKIP LOCKED),
warned AS (
  UPDATE points_lots l SET expiry_notice_at = now() FROM due WHERE l.id = due.id
  RETURNING l.customer_id, l.expires_at, l.remaining),
per_customer AS (
  SELECT customer_id, sum(remaining) AS held, min(expires_at) AS first
    FROM warned GROUP BY customer_id),
noticed AS (
  INSERT INTO notifications (tenant_id, customer_id, channel, template, payload)
  SELECT c.tenant_id, c.id, 'whatsapp', 'points_expiring',
         jsonb_build_object('points', m.held, 'expires_at', m.first)
    FROM per_customer m JOIN customers c ON c.tenant_id = $1::uuid AND c.id = m.customer_id
   WHERE c.phone IS NOT NULL AND c.status = 'active' AND c.consent_at IS NOT NULL
  RETURNING 1)
SELECT (SELECT count(*) FROM warned), (SELECT count(*) FROM noticed))sql"};
const Query kCountWarn{"points_count_warn", R"sql(
SELECT count(DISTINCT customer_id) FROM points_lots
 WHERE tenant_id = $1::uuid AND remaining > 0 AND expired_at IS NULL AND expiry_notice_at IS NULL
   AND expires_at > (SELECT app_now())
   AND expires_at <= (SELECT app_now() + make_interval(days => $2)))sql"};

}  // namespace

void lock_customers(db::Tx& tx, const std::string& tenant_id, std::vector<std::string> ids) {
  if (ids.empty()) return;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  auto list = db::array_literal(ids);
  tx.exec(kLockCustomers, tenant_id, list);
  tx.exec(kRelease, tenant_id, list);
}

std::optional<std::string> lock_customer(db::Tx& tx, const std::string& tenant_id,
                                         const std::string& customer_id) {
  auto rows = tx.exec(kLockCustomer, tenant_id, customer_id);
  if (rows.empty()) return std::nullopt;
  tx.exec(kRelease, tenant_id, db::array_literal(std::vector<std::string>{customer_id}));
  return rows[0][0].as<std::string>();
}

void release_due(db::Tx& tx, const std::string& tenant_id, const std::string& customer_id) {
  if (tx.exec(kHasDue, tenant_id, customer_id).empty()) return;
  lock_customer(tx, tenant_id, customer_id);
}

std::optional<Balances> balances(db::Tx& tx, const std::string& tenant_id,
                                 const std::string& customer_id) {
  auto rows = tx.exec(kBalances, tenant_id, customer_id);
  if (rows.empty()) return std::nullopt;
  return Balances{rows[0][0].as<std::int64_t>(), rows[0][1].as<std::int64_t>()};
}

std::vector<PendingLot> pending_lots(db::Tx& tx, const std::string& tenant_id,
                                     const std::string& customer_id) {
  std::vector<PendingLot> out;
  for (const auto& r : tx.exec(kPendingLots, tenant_id, customer_id)) {
    out.push_back({r["id"].as<std::int64_t>(), r["remaining"].as<std::int64_t>(),
                   r["until"].as<std::string>()});
  }
  return out;
}

Expired release_batch(db::Tx& tx, const std::string& tenant_id, bool& more) {
  std::vector<std::string> customers;
  for (const auto& r : tx.exec(kDuePendingCustomers, tenant_id)) customers.push_back(r[0].c_str());
  more = !customers.empty();
  Expired out;
  if (customers.empty()) return out;
  std::sort(customers.begin(), customers.end());
  auto list = db::array_literal(customers);
  tx.exec(kLockCustomers, tenant_id, list);
  auto row = tx.exec1(kRelease, tenant_id, list);
  out.lots = row["lots"].as<std::int64_t>();
  out.points = row["points"].as<std::int64_t>();
  return out;
}

Expired count_release(db::Tx& tx, const std::string& tenant_id) {
  auto row = tx.exec1(kCountRelease, tenant_id);
  return {row["lots"].as<std::int64_t>(), row["points"].as<std::int64_t>()};
}

std::int64_t credit(db::Tx& tx, const std::string& tenant_id, const std::string& customer_id,
                    std::int64_t points, const std::string& expires_at, const Cause& cause,
                    const Actor& actor) {
  if (points <= 0) throw std::logic_error("points::credit of a non-positive amount");
  auto rows = tx.exec(kCredit, tenant_id, customer_id, points, expires_at, cause.kind, cause.reason,
                      cause.issuance_id, cause.event_id, cause.rule_id, catalog::actor_label(actor),
                      cause.reference);
  if (rows.empty()) throw_not_found("customer");
  return rows[0][0].as<std::int64_t>();
}

void credit_issued(db::Tx& tx, const std::string& tenant_id,
                   const std::vector<std::string>& customer_ids,
                   const std::vector<std::int64_t>& points,
                   const std::vector<std::string>& issuance_ids) {
  if (points.empty()) return;
  tx.exec(kCreditIssued, tenant_id, db::array_literal(customer_ids), db::array_literal(points),
          db::array_literal(issuance_ids));
}

std::int64_t debit(db::Tx& tx, const std::string& tenant_id, const std::string& customer_id,
                   std::int64_t points, Shortfall shortfall, Lots lots, const Cause& cause,
                   const Actor& actor) {
  if (points <= 0) return 0;
  return tx
      .exec1(kDebit, tenant_id, customer_id, points, shortfall == Shortfall::refuse, cause.kind,
             cause.reason, cause.issuance_id, cause.event_id, cause.rule_id, cause.reverses_id,
             catalog::actor_label(actor), lots == Lots::held)[0]
      .as<std::int64_t>();
}

std::optional<std::int64_t> balance(db::Tx& tx, const std::string& tenant_id,
                                    const std::string& customer_id) {
  auto rows = tx.exec(kBalance, tenant_id, customer_id);
  if (rows.empty()) return std::nullopt;
  return rows[0][0].as<std::int64_t>();
}

std::int64_t spendable(db::Tx& tx, const std::string& tenant_id, const std::string& customer_id) {
  return tx.exec1(kSpendable, tenant_id, customer_id)[0].as<std::int64_t>();
}

Cause taking_back(db::Tx& tx, const std::string& tenant_id, const std::string& issuance_id,
                  std::string kind, std::string reason) {
  Cause cause;
  cause.kind = std::move(kind);
  cause.reason = std::move(reason);
  cause.issuance_id = issuance_id;
  auto rows = tx.exec(kEarnEntry, tenant_id, issuance_id);
  if (!rows.empty()) {
    cause.reverses_id = rows[0][0].as<std::int64_t>();
    if (!rows[0][1].is_null()) cause.rule_id = rows[0][1].as<std::string>();
  }
  return cause;
}

Expired expire_batch(db::Tx& tx, const std::string& tenant_id, bool& more) {
  std::vector<std::string> customers;
  for (const auto& r : tx.exec(kDueCustomers, tenant_id)) customers.push_back(r[0].c_str());
  more = !customers.empty();
  Expired out;
  if (customers.empty()) return out;
  lock_customers(tx, tenant_id, customers);
  auto row = tx.exec1(kExpire, tenant_id, db::array_literal(customers));
  out.lots = row["lots"].as<std::int64_t>();
  out.points = row["points"].as<std::int64_t>();
  return out;
}

Expired count_due(db::Tx& tx, const std::string& tenant_id) {
  auto row = tx.exec1(kCountDue, tenant_id);
  return {row["lots"].as<std::int64_t>(), row["points"].as<std::int64_t>()};
}

std::pair<std::int64_t, std::int64_t> warn_batch(db::Tx& tx, const std::string& tenant_id,
                                                 int days) {
  auto row = tx.exec1(kWarn, tenant_id, days);
  return {row[0].as<std::int64_t>(), row[1].as<std::int64_t>()};
}

std::int64_t count_warn(db::Tx& tx, const std::string& tenant_id, int days) {
  return tx.exec1(kCountWarn, tenant_id, days)[0].as<std::int64_t>();
}

}  // namespace loyalty::points
