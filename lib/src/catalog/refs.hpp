#pragma once
// Private: references to a tenant's rewards, budgets and campaigns by id or by name.

#include "db/tx.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace loyalty::catalog {

enum class Entity { reward, budget, campaign, rule };

/// "reward", "budget", ...
std::string_view to_string(Entity entity) noexcept;

/// The id of the tenant's entity whose id or name is `id_or_name` (an id wins over a name), or
/// nullopt when there is none.
std::optional<std::string> find_id(db::Tx& tx, const std::string& tenant_id, Entity entity,
                                   const std::string& id_or_name);

/// Like find_id, throwing Error(not_found) ("budget 'x' not found").
std::string require_id(db::Tx& tx, const std::string& tenant_id, Entity entity,
                       const std::string& id_or_name);

}  // namespace loyalty::catalog
