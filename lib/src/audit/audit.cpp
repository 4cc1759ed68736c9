#include "audit/audit.hpp"

#include <loyalty/audit/audit.hpp>

namespace loyalty::audit {

namespace {

const db::Query kInsert{"audit_insert",
                        "INSERT INTO audit_log (tenant_id, actor_type, actor_id, action, "
                        "entity_type, entity_id, before, after) "
                        "VALUES ($1, $2, nullif($3, ''), $4, $5, $6, $7::jsonb, $8::jsonb)"};
const db::Query kList{
    "audit_list",
    "SELECT id, actor_type, coalesce(actor_id, ''), action, entity_type, coalesce(entity_id, ''), "
    "coalesce(before::text, 'null'), coalesce(after::text, 'null'), "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
    "FROM audit_log WHERE tenant_id = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3"};

}  // namespace

void record(db::Tx& tx, const std::string& tenant_id, const Actor& actor, const std::string& action,
            const std::string& entity_type, const std::string& entity_id,
            const nlohmann::json& before, const nlohmann::json& after) {
  tx.exec(kInsert, tenant_id, actor.type, actor.id, action, entity_type, entity_id, before.dump(),
          after.dump());
}

Page<nlohmann::json> list_audit(db::Database& database, const std::string& tenant_id,
                                const PageRequest& page) {
  long long after_id = decode_numeric_cursor(page.cursor);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto to_json = [](const pqxx::row& r) {
      return nlohmann::json{{"id", r[0].as<long long>()},
                            {"actor_type", r[1].as<std::string>()},
                            {"actor_id", r[2].as<std::string>()},
                            {"action", r[3].as<std::string>()},
                            {"entity_type", r[4].as<std::string>()},
                            {"entity_id", r[5].as<std::string>()},
                            {"before", nlohmann::json::parse(r[6].as<std::string>())},
                            {"after", nlohmann::json::parse(r[7].as<std::string>())},
                            {"created_at", r[8].as<std::string>()}};
    };
    return fill_page<nlohmann::json>(tx.exec(kList, tenant_id, after_id, page.limit + 1),
                                     page.limit, to_json, [](const nlohmann::json& e) {
                                       return CursorPosition{e["id"].dump(), ""};
                                     });
  });
}

}  // namespace loyalty::audit
