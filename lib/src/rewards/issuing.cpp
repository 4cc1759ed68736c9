// What the event pipeline reads and writes of rewards: their terms, and stock taken at commit.
#include "rewards/issuing.hpp"

#include <loyalty/rewards/rewards.hpp>

#include <algorithm>

namespace loyalty::rewards {

namespace {

// Whether a pool code remains is read from reward_codes_available (migration 0072), one index
// entry; the stock as it is now, without a lock (the take at commit re-checks it).
const db::Query kIssuingTerms{"reward_issuing_terms", R"sql(
  SELECT r.id::text AS id, r.type, r.cost_minor, r.currency, r.config::text AS config,
         r.type = 'voucher' AND coalesce(r.config->>'source', 'pool') = 'pool' AS pooled,
         CASE WHEN r.type = 'physical' THEN r.stock END AS stock,
         r.type = 'voucher' AND coalesce(r.config->>'source', 'pool') = 'pool'
           AND EXISTS (SELECT 1 FROM reward_codes c
                        WHERE c.tenant_id = r.tenant_id AND c.reward_id = r.id
                          AND c.status = 'available') AS code_available,
         r.name, r.budget_id::text AS budget_id, r.points_price,
         r.active AND (r.valid_from IS NULL OR r.valid_from <= app_now())
           AND (r.valid_until IS NULL OR r.valid_until > app_now()) AS issuable_now
    FROM rewards r
   WHERE r.tenant_id = $1::uuid AND r.id = ANY ($2::uuid[]))sql"};

}  // namespace

std::map<std::string, IssuingTerms> read_issuing_terms(db::Tx& tx, const std::string& tenant_id,
                                                       const std::vector<std::string>& reward_ids) {
  std::map<std::string, IssuingTerms> out;
  if (reward_ids.empty()) return out;
  for (const auto& r : tx.exec(kIssuingTerms, tenant_id, db::array_literal(reward_ids))) {
    IssuingTerms t;
    t.type = r["type"].as<std::string>();
    t.cost_minor = r["cost_minor"].as<MinorUnits>();
    t.currency = r["currency"].as<std::string>();
    t.config = nlohmann::json::parse(r["config"].as<std::string>());
    t.pooled = r["pooled"].as<bool>();
    t.generated = t.type == "voucher" && !t.pooled;
    if (!r["stock"].is_null()) t.stock = r["stock"].as<std::int64_t>();
    t.code_available = r["code_available"].as<bool>();
    t.name = r["name"].as<std::string>();
    if (!r["budget_id"].is_null()) t.budget_id = r["budget_id"].as<std::string>();
    if (!r["points_price"].is_null()) t.points_price = r["points_price"].as<std::int64_t>();
    t.issuable_now = r["issuable_now"].as<bool>();
    out.emplace(r["id"].as<std::string>(), std::move(t));
  }
  return out;
}

std::string new_voucher_code(const nlohmann::json& config) {
  return generate_code(config.value("prefix", ""), config.value("length", std::size_t{10}));
}

void take_stock_with_commit(db::Tx& tx, const std::string& tenant_id,
                            std::vector<std::string> reward_ids) {
  if (reward_ids.empty()) return;
  std::sort(reward_ids.begin(), reward_ids.end());
  // reward_take_stock_all (migration 0105): 40001 when a reward has run out meanwhile.
  tx.exec_with_commit("SELECT reward_take_stock_all(" + tx.quote(tenant_id) + "::uuid, " +
                      tx.quote(db::array_literal(reward_ids)) + "::uuid[])");
}

}  // namespace loyalty::rewards
