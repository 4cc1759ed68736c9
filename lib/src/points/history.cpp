// GET .../customers/:id/points and loyaltyctl points history: a customer's movements.
#include "db/tx.hpp"
#include "points/lots.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/points/points.hpp>

namespace loyalty::points {

namespace {

using db::Query;

// Newest first through points_by_customer (migration 0001); $3 the id after which the page
// starts (0: the first page).
const Query kList{"points_movements_list", R"sql(
  SELECT m.id, m.kind, m.points, m.pending, m.reason, coalesce(m.rule_id::text, '') AS rule_id,
         coalesce(m.event_id::text, '') AS event_id,
         coalesce(m.issuance_id::text, '') AS issuance_id,
         coalesce(m.reference, '') AS reference, m.actor, m.lot_id,
         coalesce(to_char(l.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), '')
           AS lot_expires_at,
         to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at
    FROM points_ledger m
    JOIN points_lots l ON l.tenant_id = m.tenant_id AND l.id = m.lot_id
   WHERE m.tenant_id = $1::uuid AND m.customer_id = $2::uuid
     AND ($3 = 0 OR m.id < $3)
   ORDER BY m.id DESC
   LIMIT $4)sql"};

Movement row_to_movement(const pqxx::row& r) {
  Movement m;
  m.id = r["id"].as<std::int64_t>();
  m.kind = r["kind"].as<std::string>();
  m.points = r["points"].as<std::int64_t>();
  m.pending = r["pending"].as<std::int64_t>();
  m.reason = r["reason"].as<std::string>();
  m.rule_id = r["rule_id"].as<std::string>();
  m.event_id = r["event_id"].as<std::string>();
  m.issuance_id = r["issuance_id"].as<std::string>();
  m.reference = r["reference"].as<std::string>();
  m.actor = r["actor"].as<std::string>();
  m.lot_id = r["lot_id"].as<std::int64_t>();
  m.lot_expires_at = r["lot_expires_at"].as<std::string>();
  m.created_at = r["created_at"].as<std::string>();
  return m;
}

}  // namespace

nlohmann::json to_json(const Movement& m) {
  auto opt = [](const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); };
  return {{"id", m.id},
          {"kind", m.kind},
          {"points", m.points},
          {"pending", m.pending},
          {"reason", m.reason},
          {"rule_id", opt(m.rule_id)},
          {"event_id", opt(m.event_id)},
          {"issuance_id", opt(m.issuance_id)},
          {"reference", opt(m.reference)},
          {"actor", m.actor},
          {"lot", {{"id", m.lot_id}, {"expires_at", opt(m.lot_expires_at)}}},
          {"created_at", m.created_at}};
}

nlohmann::json to_json(const History& h) {
  auto items = nlohmann::json::array();
  for (const auto& m : h.movements.items) items.push_back(to_json(m));
  auto pending_lots = nlohmann::json::array();
  for (const auto& l : h.pending_lots) {
    pending_lots.push_back({{"lot_id", l.lot_id}, {"points", l.points}, {"until", l.until}});
  }
  return {
      {"balance", h.balance},
      {"spendable", h.spendable},
      {"pending", h.pending},
      {"pending_lots", pending_lots},
      {"items", items},
      {"next_cursor", h.movements.next_cursor.empty() ? nlohmann::json()
                                                      : nlohmann::json(h.movements.next_cursor)}};
}

History history(db::Database& database, const std::string& tenant_id,
                const std::string& customer_id, const PageRequest& page) {
  if (!is_uuid(customer_id)) throw_not_found("customer");
  const long long after = decode_numeric_cursor(page.cursor);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    // Lots whose returns window is over are released first: the answer shows them spendable.
    release_due(tx, tenant_id, customer_id);
    auto held = balances(tx, tenant_id, customer_id);
    if (!held) throw_not_found("customer");
    History h;
    h.balance = held->balance;
    h.pending = held->pending;
    h.spendable = spendable(tx, tenant_id, customer_id);
    h.pending_lots = pending_lots(tx, tenant_id, customer_id);
    auto rows = tx.exec(kList, tenant_id, customer_id, after, page.limit + 1);
    h.movements = fill_page<Movement>(rows, page.limit, row_to_movement, [](const Movement& m) {
      return CursorPosition{std::to_string(m.id), ""};
    });
    return h;
  });
}

}  // namespace loyalty::points
