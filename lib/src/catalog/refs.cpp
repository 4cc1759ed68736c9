#include "catalog/refs.hpp"

#include "catalog/fields.hpp"

namespace loyalty::catalog {

namespace {

// An id is tried first (as text, so a name never fails a uuid cast), then a name.
const db::Query kReward{"catalog_find_reward",
                        "SELECT id::text FROM rewards WHERE tenant_id = $1 "
                        "AND (id::text = $2 OR name = $2) ORDER BY (id::text = $2) DESC LIMIT 1"};
const db::Query kBudget{"catalog_find_budget",
                        "SELECT id::text FROM budgets WHERE tenant_id = $1 "
                        "AND (id::text = $2 OR name = $2) ORDER BY (id::text = $2) DESC LIMIT 1"};
const db::Query kCampaign{"catalog_find_campaign",
                          "SELECT id::text FROM campaigns WHERE tenant_id = $1 "
                          "AND (id::text = $2 OR name = $2) ORDER BY (id::text = $2) DESC LIMIT 1"};
const db::Query kRule{"catalog_find_rule",
                      "SELECT id::text FROM rules WHERE tenant_id = $1 "
                      "AND (id::text = $2 OR name = $2) ORDER BY (id::text = $2) DESC LIMIT 1"};

}  // namespace

std::string_view to_string(Entity entity) noexcept {
  switch (entity) {
    case Entity::reward:
      return "reward";
    case Entity::budget:
      return "budget";
    case Entity::campaign:
      return "campaign";
    case Entity::rule:
      return "rule";
  }
  return "entity";
}

std::optional<std::string> find_id(db::Tx& tx, const std::string& tenant_id, Entity entity,
                                   const std::string& id_or_name) {
  const db::Query* q = &kReward;
  if (entity == Entity::budget) q = &kBudget;
  if (entity == Entity::campaign) q = &kCampaign;
  if (entity == Entity::rule) q = &kRule;
  auto rows = tx.exec(*q, tenant_id, id_or_name);
  if (rows.empty()) return std::nullopt;
  return rows[0][0].as<std::string>();
}

std::string require_id(db::Tx& tx, const std::string& tenant_id, Entity entity,
                       const std::string& id_or_name) {
  auto id = find_id(tx, tenant_id, entity, id_or_name);
  if (!id) throw_not_found(std::string(to_string(entity)) + " '" + id_or_name + "'");
  return *id;
}

}  // namespace loyalty::catalog
