// Segments: definitions (validated by the rules engine), their members, and recomputes.
#include "audit/audit.hpp"
#include "db/tx.hpp"
#include "segments/membership.hpp"

#include <spdlog/spdlog.h>
#include <loyalty/core/error.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/jobs/worker.hpp>
#include <loyalty/segments/segments.hpp>

namespace loyalty::segments {

namespace {

using db::Query;

#define LOYALTY_SEGMENT_COLUMNS                                                              \
  "id::text AS id, name, description, conditions::text AS conditions, "                      \
  "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at, " \
  "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS updated_at"

const Query kInsert{"segments_insert",
                    "INSERT INTO segments (tenant_id, name, description, conditions) "
                    "VALUES ($1::uuid, $2, $3, $4::jsonb) ON CONFLICT DO NOTHING "
                    "RETURNING " LOYALTY_SEGMENT_COLUMNS};
const Query kById{"segments_by_id", "SELECT " LOYALTY_SEGMENT_COLUMNS
                                    " FROM segments WHERE tenant_id = $1::uuid AND id = $2::uuid"};
const Query kByName{"segments_by_name", "SELECT " LOYALTY_SEGMENT_COLUMNS
                                        " FROM segments WHERE tenant_id = $1::uuid AND name = $2"};
const Query kList{"segments_list", "SELECT " LOYALTY_SEGMENT_COLUMNS R"sql(
   FROM segments WHERE tenant_id = $1::uuid AND ($2 = '' OR (name, id) > ($2, $3::uuid))
  ORDER BY name, id LIMIT $4)sql",
                  db::Plan::per_call};
const Query kNameTaken{"segments_name_taken",
                       "SELECT 1 FROM segments WHERE tenant_id = $1::uuid AND name = $2 "
                       "AND id <> $3::uuid"};
const Query kUpdate{"segments_update",
                    "UPDATE segments SET name = $3, description = $4, conditions = $5::jsonb, "
                    "updated_at = now() WHERE tenant_id = $1::uuid AND id = $2::uuid "
                    "RETURNING " LOYALTY_SEGMENT_COLUMNS};
const Query kDelete{"segments_delete",
                    "DELETE FROM segments WHERE tenant_id = $1::uuid AND id = $2::uuid"};
// Every member's segments, the name replaced ($3 null: taken out), in id order (the lock order
// of every batch of recomputes).
const Query kRename{"segments_rename_members", R"sql(
  UPDATE customers c
     SET segments = CASE WHEN $3::text IS NULL THEN array_remove(c.segments, $2)
                         ELSE array_replace(c.segments, $2, $3::text) END
    FROM (SELECT id FROM customers WHERE tenant_id = $1::uuid AND segments @> ARRAY[$2::text]
           ORDER BY id FOR UPDATE) m
   WHERE c.tenant_id = $1::uuid AND c.id = m.id)sql"};
const Query kBatch{"segments_batch", R"sql(
  SELECT id::text FROM customers
   WHERE tenant_id = $1::uuid AND status <> 'erased' AND id > $2::uuid
   ORDER BY id LIMIT $3)sql"};
const Query kCustomer{"segments_customer_exists",
                      "SELECT 1 FROM customers WHERE tenant_id = $1::uuid AND id = $2::uuid"};

constexpr const char* kNilUuid = "00000000-0000-0000-0000-000000000000";

Segment read_segment(const pqxx::row& r) {
  Segment s;
  s.id = r["id"].as<std::string>();
  s.name = r["name"].as<std::string>();
  s.description = r["description"].as<std::string>();
  s.conditions = nlohmann::json::parse(r["conditions"].as<std::string>());
  s.created_at = r["created_at"].as<std::string>();
  s.updated_at = r["updated_at"].as<std::string>();
  return s;
}

/// A segment's definition from a body, every problem listed.
struct Definition {
  std::string name, description;
  nlohmann::json conditions;
};

Definition definition_from_json(const nlohmann::json& body) {
  Definition d;
  std::vector<FieldError> errors;
  for (const auto& [key, value] : body.items()) {
    if (key != "name" && key != "description" && key != "conditions")
      errors.push_back({"/" + key, "unknown field"});
  }
  if (!body.contains("name") || !body["name"].is_string() ||
      body["name"].get<std::string>().empty() || body["name"].get<std::string>().size() > 64) {
    errors.push_back({"/name", "required: a name of 1 to 64 characters"});
  } else {
    d.name = body["name"].get<std::string>();
  }
  if (body.contains("description") && !body["description"].is_null()) {
    if (!body["description"].is_string() || body["description"].get<std::string>().size() > 500)
      errors.push_back({"/description", "must be a string of at most 500 characters"});
    else
      d.description = body["description"].get<std::string>();
  }
  if (!body.contains("conditions")) {
    errors.push_back({"/conditions", "required (JsonLogic over the customer and their history)"});
  } else {
    auto problems = rules::check_logic(body["conditions"], "/conditions");
    if (problems.empty()) d.conditions = body["conditions"];
    errors.insert(errors.end(), problems.begin(), problems.end());
  }
  if (!errors.empty()) throw_invalid("the segment is not valid", errors);
  return d;
}

std::optional<Segment> find(db::Tx& tx, const std::string& tenant_id,
                            const std::string& id_or_name) {
  auto rows = is_uuid(id_or_name) ? tx.exec(kById, tenant_id, id_or_name)
                                  : tx.exec(kByName, tenant_id, id_or_name);
  if (rows.empty()) return std::nullopt;
  return read_segment(rows[0]);
}

Segment found(db::Tx& tx, const std::string& tenant_id, const std::string& id_or_name) {
  auto s = find(tx, tenant_id, id_or_name);
  if (!s) throw_not_found("segment");
  return *s;
}

nlohmann::json audit_json(const Segment& s) {
  return {{"name", s.name}, {"description", s.description}, {"conditions", s.conditions}};
}

std::string customer_of(const jobs::Job& job) {
  auto c = job.payload.find("customer_id");
  if (c == job.payload.end() || !c->is_string() || !is_uuid(c->get<std::string>()))
    throw jobs::PermanentFailure("payload has no customer_id");
  return c->get<std::string>();
}

}  // namespace

Segment create_segment(db::Database& database, const std::string& tenant_id,
                       const nlohmann::json& body, const Actor& actor) {
  auto d = definition_from_json(body);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto rows = tx.exec(kInsert, tenant_id, d.name, d.description, d.conditions.dump());
    if (rows.empty())
      throw_conflict("segment-exists", "a segment named '" + d.name + "' exists already");
    auto s = read_segment(rows[0]);
    audit::record(tx, tenant_id, actor, "segment.create", "segment", s.id, nullptr, audit_json(s));
    queue_tenant(tx, tenant_id);
    return s;
  });
}

Segment get_segment(db::Database& database, const std::string& tenant_id,
                    const std::string& id_or_name) {
  return db::with_tenant(database, tenant_id,
                         [&](db::Tx& tx) { return found(tx, tenant_id, id_or_name); });
}

Page<Segment> list_segments(db::Database& database, const std::string& tenant_id,
                            const PageRequest& page) {
  auto after = decode_keyed_cursor(page.cursor);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto rows = tx.exec(kList, tenant_id, after.key,
                        after.id.empty() ? std::optional<std::string>() : after.id, page.limit + 1);
    return fill_page<Segment>(rows, page.limit, read_segment, [](const Segment& s) {
      return CursorPosition{s.name, s.id};
    });
  });
}

Segment update_segment(db::Database& database, const std::string& tenant_id,
                       const std::string& id_or_name, const nlohmann::json& body,
                       const Actor& actor) {
  auto d = definition_from_json(body);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto was = found(tx, tenant_id, id_or_name);
    if (!tx.exec(kNameTaken, tenant_id, d.name, was.id).empty())
      throw_conflict("segment-exists", "a segment named '" + d.name + "' exists already");
    auto s = read_segment(
        tx.exec1(kUpdate, tenant_id, was.id, d.name, d.description, d.conditions.dump()));
    if (s.name != was.name) tx.exec(kRename, tenant_id, was.name, s.name);
    audit::record(tx, tenant_id, actor, "segment.update", "segment", s.id, audit_json(was),
                  audit_json(s));
    queue_tenant(tx, tenant_id);
    return s;
  });
}

void delete_segment(db::Database& database, const std::string& tenant_id,
                    const std::string& id_or_name, const Actor& actor) {
  db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto was = found(tx, tenant_id, id_or_name);
    tx.exec(kDelete, tenant_id, was.id);
    tx.exec(kRename, tenant_id, was.name, std::optional<std::string>());
    audit::record(tx, tenant_id, actor, "segment.delete", "segment", was.id, audit_json(was),
                  nullptr);
  });
}

Page<customers::Customer> segment_members(db::Database& database, const std::string& tenant_id,
                                          const std::string& id_or_name, const PageRequest& page) {
  auto segment = get_segment(database, tenant_id, id_or_name);
  customers::CustomerFilter filter;
  filter.segment = segment.name;
  return customers::list_customers(database, tenant_id, filter, page);
}

RecomputeReport recompute_segments(db::Database& database, const std::string& tenant_id,
                                   std::size_t batch) {
  RecomputeReport report;
  std::string after = kNilUuid;
  for (;;) {
    auto done = db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
      std::vector<std::string> ids;
      for (const auto& r : tx.exec(kBatch, tenant_id, after, static_cast<long long>(batch)))
        ids.push_back(r[0].as<std::string>());
      std::size_t changed = 0;
      if (!ids.empty())
        changed = recompute_customers(tx, tenant_id, ids, load_compiled(tx, tenant_id));
      return std::make_pair(ids, changed);
    });
    if (done.first.empty()) break;
    ++report.batches;
    report.customers += done.first.size();
    report.changed += done.second;
    after = done.first.back();
    if (done.first.size() < batch) break;
  }
  spdlog::debug("segments.recomputed tenant={} customers={} changed={} batches={}", tenant_id,
                report.customers, report.changed, report.batches);
  return report;
}

customers::Customer recompute_customer(db::Database& database, const std::string& tenant_id,
                                       const std::string& customer_id) {
  if (!is_uuid(customer_id)) throw_not_found("customer");
  db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    if (tx.exec(kCustomer, tenant_id, customer_id).empty()) throw_not_found("customer");
    recompute_customers(tx, tenant_id, {customer_id}, load_compiled(tx, tenant_id));
  });
  return customers::get_customer(database, tenant_id, customer_id);
}

void register_handlers(jobs::Worker& worker) {
  worker.on(kCustomerJob, [](db::Database& db, const jobs::Job& job) {
    auto customer = customer_of(job);
    db::with_tenant(db, job.tenant_id, [&](db::Tx& tx) {
      recompute_customers(tx, job.tenant_id, {customer}, load_compiled(tx, job.tenant_id));
    });
  });
  worker.on_batch(kCustomerJob, [](db::Tx& tx, const std::string& tenant_id,
                                   const std::vector<jobs::Job>& jobs) {
    std::vector<std::string> customers;
    for (const auto& job : jobs) customers.push_back(customer_of(job));
    std::sort(customers.begin(), customers.end());
    customers.erase(std::unique(customers.begin(), customers.end()), customers.end());
    recompute_customers(tx, tenant_id, customers, load_compiled(tx, tenant_id));
  });
  worker.on(kTenantJob,
            [](db::Database& db, const jobs::Job& job) { recompute_segments(db, job.tenant_id); });
}

nlohmann::json to_json(const Segment& s) {
  return {{"id", s.id},
          {"name", s.name},
          {"description", s.description},
          {"conditions", s.conditions},
          {"created_at", s.created_at},
          {"updated_at", s.updated_at}};
}

nlohmann::json to_json(const RecomputeReport& r) {
  return {{"customers", r.customers}, {"changed", r.changed}, {"batches", r.batches}};
}

}  // namespace loyalty::segments
