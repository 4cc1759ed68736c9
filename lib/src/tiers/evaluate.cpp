// Tier evaluation: the hooks of the event pipeline and the worker (upgrades only), and the
// recompute that also downgrades, all through tiers_evaluate (migration 0130).
#include "tiers/evaluate.hpp"

#include <spdlog/spdlog.h>
#include <loyalty/core/error.hpp>
#include <loyalty/tiers/tiers.hpp>

namespace loyalty::tiers {

namespace {

using db::Query;

// The changes, for the counts; the function writes the tier, the history and the outbox.
const Query kEvaluate{"tiers_evaluate", R"sql(
  SELECT reason FROM tiers_evaluate($1::uuid, $2::uuid[], $3::boolean, $4::text, $5::uuid))sql"};

const Query kBatch{"tiers_recompute_batch", R"sql(
  SELECT id::text FROM customers
   WHERE tenant_id = $1::uuid AND id > $2::uuid AND status <> 'erased'
   ORDER BY id LIMIT $3)sql"};

const Query kTenantsWithTiers{"tiers_tenants",
                              "SELECT tenant_id::text FROM tier_policies ORDER BY tenant_id"};

constexpr const char* kNilUuid = "00000000-0000-0000-0000-000000000000";
constexpr int kBatchSize = 200;

}  // namespace

void after_event(db::Tx& tx, const std::string& measure, const std::string& tenant_id,
                 const std::string& customer_id, const std::string& event_id,
                 const std::string& event_type) {
  if (measure != "amount_spent" || event_type != "purchase") return;
  tx.exec(kEvaluate, tenant_id, "{" + customer_id + "}", false, measure, event_id);
}

void after_points_earned(db::Tx& tx, const std::string& tenant_id,
                         const std::vector<std::string>& customer_ids) {
  if (customer_ids.empty()) return;
  std::optional<std::string> no_event;
  tx.exec(kEvaluate, tenant_id, db::array_literal(customer_ids), false, "points_earned", no_event);
}

nlohmann::json to_json(const RecomputeReport& r) {
  return {{"customers", r.customers}, {"upgraded", r.upgraded}, {"downgraded", r.downgraded}};
}

RecomputeReport recompute(db::Database& database, const std::string& tenant_id) {
  RecomputeReport report;
  std::string after = kNilUuid;
  for (;;) {
    struct Batch {
      std::vector<std::string> ids;
      std::int64_t up = 0, down = 0;
    };
    auto batch = db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
      Batch b;
      for (const auto& r : tx.exec(kBatch, tenant_id, after, kBatchSize)) {
        b.ids.push_back(r[0].as<std::string>());
      }
      if (b.ids.empty()) return b;
      std::optional<std::string> any_measure, no_event;
      for (const auto& r :
           tx.exec(kEvaluate, tenant_id, db::array_literal(b.ids), true, any_measure, no_event)) {
        (r[0].as<std::string>() == "upgrade" ? b.up : b.down) += 1;
      }
      return b;
    });
    // Counted once the batch committed: a retried batch starts again from the same customer.
    report.customers += static_cast<std::int64_t>(batch.ids.size());
    report.upgraded += batch.up;
    report.downgraded += batch.down;
    if (static_cast<int>(batch.ids.size()) < kBatchSize) break;
    after = batch.ids.back();
  }
  spdlog::debug("tiers.recomputed tenant={} customers={} upgraded={} downgraded={}", tenant_id,
                report.customers, report.upgraded, report.downgraded);
  return report;
}

std::vector<std::string> tenants_with_tiers(db::Database& database) {
  return db::with_tx(database, [](db::Tx& tx) {
    std::vector<std::string> out;
    for (const auto& r : tx.exec(kTenantsWithTiers)) out.push_back(r[0].as<std::string>());
    return out;
  });
}

}  // namespace loyalty::tiers
