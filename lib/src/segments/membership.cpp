// A customer's segments: the tenant's conditions evaluated by the rules engine on the customer as
// rules see them (events/customer_view.hpp) with the same history operators (events/history.hpp),
// as of now.
#include "segments/membership.hpp"

#include "events/customer_view.hpp"
#include "events/history.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace loyalty::segments {

namespace {

constexpr const char* kNilUuid = "00000000-0000-0000-0000-000000000000";

const db::Query kLoad{"segments_load", R"sql(
  SELECT t.timezone, s.name, s.conditions::text AS conditions
    FROM tenants t LEFT JOIN segments s ON s.tenant_id = t.id
   WHERE t.id = $1::uuid
   ORDER BY s.name)sql"};
// The customers as rules see them, now ($4 null), locked in id order.
const std::string kViewsSql = std::string("SELECT ") + events::kCustomerColumns +
                              R"sql( FROM customers
   WHERE tenant_id = $1::uuid AND id = ANY($2::uuid[]) AND status <> 'erased'
   ORDER BY id FOR UPDATE)sql";
const db::Query kViews{"segments_views", kViewsSql.c_str()};
const db::Query kWrite{"segments_write", R"sql(
  UPDATE customers c SET segments = ARRAY(SELECT jsonb_array_elements_text(u.s::jsonb))
    FROM unnest($2::uuid[], $3::text[]) AS u (id, s)
   WHERE c.tenant_id = $1::uuid AND c.id = u.id)sql"};
const db::Query kQueue{"segments_queue_customer", R"sql(
  INSERT INTO jobs (tenant_id, kind, payload)
  SELECT $1::uuid, 'segments.customer', jsonb_build_object('customer_id', $2::text)
   WHERE NOT EXISTS (SELECT FROM jobs
                      WHERE tenant_id = $1::uuid AND kind = 'segments.customer'
                        AND status = 'pending' AND payload->>'customer_id' = $2::text))sql"};
const db::Query kQueueTenant{"segments_queue_tenant", R"sql(
  INSERT INTO jobs (tenant_id, kind, payload)
  SELECT $1::uuid, 'segments.tenant', '{}'::jsonb
   WHERE NOT EXISTS (SELECT FROM jobs
                      WHERE tenant_id = $1::uuid AND kind = 'segments.tenant'
                        AND status = 'pending'))sql"};

}  // namespace

CompiledSegments load_compiled(db::Tx& tx, const std::string& tenant_id) {
  CompiledSegments out;
  for (const auto& r : tx.exec(kLoad, tenant_id)) {
    out.timezone = r["timezone"].as<std::string>();
    if (r["name"].is_null()) continue;
    auto name = r["name"].as<std::string>();
    try {
      out.conditions.add(nlohmann::json::parse(r["conditions"].as<std::string>()));
      out.names.push_back(std::move(name));
    } catch (const std::exception& e) {
      // Checked when saved; should the engine refuse it now, its members are left as they are.
      spdlog::debug("segments.not_compiled tenant={} segment={}", tenant_id, name);
    }
  }
  return out;
}

std::size_t recompute_customers(db::Tx& tx, const std::string& tenant_id,
                                const std::vector<std::string>& customer_ids,
                                const CompiledSegments& segments) {
  if (customer_ids.empty()) return 0;
  auto rows = tx.exec(kViews, tenant_id, db::array_literal(customer_ids), segments.timezone,
                      std::optional<std::string>());
  thread_local rules::Evaluator evaluator;
  std::vector<std::string> changed_ids, changed_segments;
  for (const auto& row : rows) {
    auto customer = events::read_customer_view(row);
    auto had = customer.view["segments"].get<std::vector<std::string>>();
    std::vector<std::string> now;
    for (const auto& name : had) {
      if (std::find(segments.names.begin(), segments.names.end(), name) == segments.names.end())
        now.push_back(name);  // not a defined segment's: set by hand at enrolment, kept
    }
    auto data = segments.conditions.prepare({{"customer", customer.view}});
    events::DbHistory history(tx, tenant_id, customer.id, kNilUuid, customer.occurred_utc,
                              segments.timezone, customer.view, customer.local_time);
    for (std::size_t i = 0; i < segments.names.size(); ++i) {
      if (evaluator.matches(segments.conditions[i], data, &history))
        now.push_back(segments.names[i]);
    }
    if (now == had) continue;
    changed_ids.push_back(customer.id);
    changed_segments.push_back(nlohmann::json(now).dump());
  }
  if (!changed_ids.empty()) {
    tx.exec(kWrite, tenant_id, db::array_literal(changed_ids),
            db::text_array_literal(changed_segments));
  }
  return changed_ids.size();
}

void queue_customer(db::Tx& tx, const std::string& tenant_id, const std::string& customer_id) {
  tx.exec(kQueue, tenant_id, customer_id);
}

void queue_tenant(db::Tx& tx, const std::string& tenant_id) { tx.exec(kQueueTenant, tenant_id); }

}  // namespace loyalty::segments
