#pragma once

#include <loyalty/core/page.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace loyalty::db {
class Database;
}

namespace loyalty::audit {

/// One page of a tenant's audit log, newest first; each entry as JSON
/// {id, actor_type, actor_id, action, entity_type, entity_id, before, after, created_at}.
Page<nlohmann::json> list_audit(db::Database& db, const std::string& tenant_id,
                                const PageRequest& page);

}  // namespace loyalty::audit
