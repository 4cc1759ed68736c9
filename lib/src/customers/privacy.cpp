#include "audit/audit.hpp"
#include "db/tx.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/core/phone.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/customers/privacy.hpp>

namespace loyalty::customers {

namespace {

using nlohmann::json;

#define LOYALTY_EXPORT_TS(col) \
  "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

const db::Query kByPhone{
    "privacy_by_phone", "SELECT id::text FROM customers WHERE tenant_id = $1::uuid AND phone = $2"};
const db::Query kExists{
    "privacy_exists", "SELECT status FROM customers WHERE tenant_id = $1::uuid AND id = $2::uuid"};
const db::Query kExport{"privacy_export", R"sql(
SELECT jsonb_build_object(
  'consent_history', coalesce((
    SELECT jsonb_agg(jsonb_build_object('action', a.action, 'at', )sql" LOYALTY_EXPORT_TS(
                                              "a.created_at") R"sql(,
                                        'after', a.after) ORDER BY a.id)
      FROM audit_log a
     WHERE a.tenant_id = $1::uuid AND a.entity_type = 'customer' AND a.entity_id = $2
       AND a.action IN ('customer.create', 'customer.status', 'customer.opt_out',
                        'customer.rejoin', 'customer.erase')), '[]'::jsonb),
  'events', coalesce((
    SELECT jsonb_agg(jsonb_build_object('id', e.id, 'type', e.type,
                                        'occurred_at', )sql" LOYALTY_EXPORT_TS("e.occurred_at") R"sql(,
                                        'data', e.data, 'amount_minor', e.amount_minor,
                                        'currency', e.currency, 'status', e.status)
                     ORDER BY e.created_at, e.id)
      FROM events e WHERE e.tenant_id = $1::uuid AND e.customer_id = $2::uuid), '[]'::jsonb),
  'issuances', coalesce((
    SELECT jsonb_agg(jsonb_build_object('id', i.id, 'reward', r.name, 'type', r.type,
                                        'state', i.state, 'code', i.code,
                                        'cost_minor', i.cost_minor, 'currency', i.currency,
                                        'points', i.points,
                                        'issued_at', )sql" LOYALTY_EXPORT_TS("i.issued_at") R"sql(,
                                        'redeemed_at', )sql" LOYALTY_EXPORT_TS("i.redeemed_at") R"sql(,
                                        'expires_at', )sql" LOYALTY_EXPORT_TS("i.expires_at") R"sql()
                     ORDER BY i.created_at, i.id)
      FROM issuances i JOIN rewards r ON r.tenant_id = i.tenant_id AND r.id = i.reward_id
     WHERE i.tenant_id = $1::uuid AND i.customer_id = $2::uuid), '[]'::jsonb),
  'points', coalesce((
    SELECT jsonb_agg(jsonb_build_object('kind', p.kind, 'points', p.points, 'reason', p.reason,
                                        'at', )sql" LOYALTY_EXPORT_TS("p.created_at") R"sql(,
                                        'lot', p.lot_id,
                                        'expires_at', )sql" LOYALTY_EXPORT_TS("l.expires_at") R"sql(,
                                        'expired', l.expired_at IS NOT NULL) ORDER BY p.id)
      FROM points_ledger p JOIN points_lots l ON l.tenant_id = p.tenant_id AND l.id = p.lot_id
     WHERE p.tenant_id = $1::uuid AND p.customer_id = $2::uuid),
    '[]'::jsonb),
  'notices', coalesce((
    SELECT jsonb_agg(jsonb_build_object('channel', n.channel, 'template', n.template,
                                        'status', n.status, 'payload', n.payload - 'pin',
                                        'at', )sql" LOYALTY_EXPORT_TS("n.created_at") R"sql()
                     ORDER BY n.created_at, n.id)
      FROM notifications n WHERE n.tenant_id = $1::uuid AND n.customer_id = $2::uuid),
    '[]'::jsonb),
  'channel_sessions', coalesce((
    SELECT jsonb_agg(jsonb_build_object('channel', s.channel,
                                        'updated_at', )sql" LOYALTY_EXPORT_TS("s.updated_at") R"sql(,
                                        'expires_at', )sql" LOYALTY_EXPORT_TS("s.expires_at") R"sql()
                     ORDER BY s.updated_at)
      FROM channel_sessions s WHERE s.tenant_id = $1::uuid AND s.customer_id = $2::uuid),
    '[]'::jsonb),
  'consents', coalesce((
    SELECT jsonb_agg(jsonb_build_object('consent', CASE WHEN k.given THEN 'given'
                                                        ELSE 'withdrawn' END,
                                        'channel', k.channel,
                                        'at', )sql" LOYALTY_EXPORT_TS("k.created_at") R"sql()
                     ORDER BY k.id)
      FROM customer_consents k WHERE k.tenant_id = $1::uuid AND k.customer_id = $2::uuid),
    '[]'::jsonb),
  'tier_history', coalesce((
    SELECT jsonb_agg(jsonb_build_object('from', h.from_tier, 'to', h.to_tier, 'reason', h.reason,
                                        'measure', h.measure,
                                        'at', )sql" LOYALTY_EXPORT_TS("h.changed_at") R"sql()
                     ORDER BY h.id)
      FROM customer_tier_history h WHERE h.tenant_id = $1::uuid AND h.customer_id = $2::uuid),
    '[]'::jsonb),
  'exported_at', )sql" LOYALTY_EXPORT_TS("now()") R"sql()::text)sql"};

const db::Query kEraseCustomer{"privacy_erase_customer", R"sql(
UPDATE customers
   SET phone = NULL, external_ref = NULL, attributes = '{}'::jsonb, tags = '{}', segments = '{}',
       birthday = NULL, consent_at = NULL, consent_channel = NULL, language = NULL,
       status = 'erased', updated_at = now()
 WHERE tenant_id = $1::uuid AND id = $2::uuid AND status <> 'erased')sql"};
// The data a till sent, and the stored answer a retry would get (the customer as it was, the
// event's data): the answer keeps its amounts and issuances, its customer only id and status.
const db::Query kEraseEvents{"privacy_erase_events", R"sql(
UPDATE events
   SET data = '{}'::jsonb,
       response = CASE WHEN response IS NULL THEN NULL
                       ELSE jsonb_set((response - 'customer') ||
                                        jsonb_build_object('customer', jsonb_build_object(
                                          'id', customer_id, 'status', 'erased')),
                                      '{event,data}', '{}'::jsonb, false) END
 WHERE tenant_id = $1::uuid AND customer_id = $2::uuid)sql"};
const db::Query kEraseNotices{"privacy_erase_notices",
                              "UPDATE notifications SET payload = '{}'::jsonb, recipient = NULL, "
                              "status = CASE status WHEN 'queued' THEN 'cancelled' ELSE status "
                              "END, updated_at = now() WHERE tenant_id = $1::uuid AND "
                              "customer_id = $2::uuid"};
const db::Query kEraseSessions{"privacy_erase_sessions",
                               "DELETE FROM channel_sessions WHERE tenant_id = $1::uuid AND "
                               "customer_id = $2::uuid"};
const db::Query kEraseMessages{"privacy_erase_messages",
                               "UPDATE outbox SET payload = payload - 'external_ref' - 'phone' "
                               "WHERE tenant_id = $1::uuid AND payload->>'customer_id' = $2 AND "
                               "(payload ? 'external_ref' OR payload ? 'phone')"};

}  // namespace

std::string resolve_customer(db::Database& database, const std::string& tenant_id,
                             const std::string& id_or_phone) {
  if (is_uuid(id_or_phone)) return get_customer(database, tenant_id, id_or_phone).id;
  const std::string phone = normalize_phone(id_or_phone, "/customer");
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto rows = tx.exec(kByPhone, tenant_id, phone);
    if (rows.empty()) throw_not_found("customer");
    return rows[0][0].as<std::string>();
  });
}

json export_customer(db::Database& database, const std::string& tenant_id,
                     const std::string& customer_id, const Actor& actor) {
  Customer c = get_customer(database, tenant_id, customer_id);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    json out = json::parse(tx.exec1(kExport, tenant_id, c.id)[0].as<std::string>());
    out["format"] = "loyalty.customer-export/1";
    out["tenant_id"] = tenant_id;
    out["customer"] = to_json(c);
    audit::record(tx, tenant_id, actor, "customer.export", "customer", c.id, nullptr, nullptr);
    return out;
  });
}

Customer erase_customer(db::Database& database, const std::string& tenant_id,
                        const std::string& customer_id, const Actor& actor) {
  if (!is_uuid(customer_id)) throw_not_found("customer");
  db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto rows = tx.exec(kExists, tenant_id, customer_id);
    if (rows.empty()) throw_not_found("customer");
    if (rows[0][0].as<std::string>() == "erased") return;  // done before: nothing changes
    tx.exec(kEraseCustomer, tenant_id, customer_id);
    const auto events = tx.exec(kEraseEvents, tenant_id, customer_id).affected_rows();
    const auto notices = tx.exec(kEraseNotices, tenant_id, customer_id).affected_rows();
    tx.exec(kEraseSessions, tenant_id, customer_id);
    tx.exec(kEraseMessages, tenant_id, customer_id);
    audit::record(tx, tenant_id, actor, "customer.erase", "customer", customer_id,
                  {{"status", rows[0][0].as<std::string>()}},
                  {{"status", "erased"}, {"events_cleared", events}, {"notices_cleared", notices}});
  });
  return get_customer(database, tenant_id, customer_id);
}

}  // namespace loyalty::customers
