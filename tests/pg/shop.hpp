#pragma once
// The shop the event pipeline's tests run against (tests/pg/events_test.cpp,
// event_groups_test.cpp, issuances_test.cpp): a tenant with one reward, one hard-capped budget
// and one rule, opened as loyaltyd opens it, and the calls they make on it.

#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/customers/customers.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/issuances/issuances.hpp>
#include <loyalty/metrics/counters.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <loyalty/rulesets/rulesets.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace loyalty::test::shop {

struct Shop {
  std::string tenant_id;
  std::unique_ptr<loyalty::db::Database> app;  ///< the daemon's role, many connections
  loyalty::events::RulesCache cache;
};

inline std::unique_ptr<Shop> make_shop(TestDatabase& db, const nlohmann::json& reward,
                                       const std::string& budget_total,
                                       const nlohmann::json& rule) {
  auto shop = std::make_unique<Shop>();
  loyalty::tenants::CreateTenantRequest req;
  req.name = "Shop";
  req.slug = "shop";
  shop->tenant_id = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
  auto actor = loyalty::Actor::operator_cli();
  loyalty::rewards::create_reward(db.owner(), shop->tenant_id, actor, reward);
  loyalty::budgets::create_budget(
      db.owner(), shop->tenant_id, actor,
      {{"name", "main"}, {"currency", "USD"}, {"total", budget_total}, {"hard_cap", true}});
  loyalty::rulesets::import_rules(db.owner(), shop->tenant_id, actor, {{"rules", {rule}}}, {});
  shop->app = loyalty::db::Database::open_url(db.app_url(), 24);
  return shop;
}

inline nlohmann::json purchase(const std::string& phone, const std::string& key,
                               const std::string& amount = "60.00") {
  return {{"customer", {{"phone", phone}}},
          {"type", "purchase"},
          {"data", {{"amount", amount}, {"currency", "USD"}, {"store", "HRE-01"}}},
          {"idempotency_key", key}};
}

inline std::string phone(int i) {
  std::ostringstream s;
  s << "+26377" << (1000000 + i);
  return s.str();
}

inline nlohmann::json rule(const std::string& reward, nlohmann::json caps = nullptr) {
  nlohmann::json r = {{"name", "spend 50"},
                      {"event_type", "purchase"},
                      {"conditions", {{">=", {{{"var", "event.amount"}}, 50}}}},
                      {"reward", reward},
                      {"budget", "main"}};
  if (!caps.is_null()) r["caps"] = caps;
  return r;
}

/// Runs `n` calls of `fn(i)` on `threads` threads at once.
inline void concurrently(int n, int threads, const std::function<void(int)>& fn) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) fn(i);
    });
  }
  for (auto& t : pool) t.join();
}

/// The reward of most tests: $1.00 off.
inline nlohmann::json dollar_off() {
  return {{"name", "dollar-off"},
          {"type", "discount"},
          {"cost", "1.00"},
          {"currency", "USD"},
          {"config", {{"kind", "fixed"}, {"amount", "1.00"}}}};
}

/// An event processed as loyaltyd processes a POS's post.
inline loyalty::events::EventResponse process(Shop& shop, const nlohmann::json& event) {
  return loyalty::events::process_event(*shop.app, shop.cache, shop.tenant_id, event, "",
                                        loyalty::Actor::system());
}

/// How many rules of an event's answer gave nothing for `reason`.
inline int count_not_issued(const nlohmann::json& body, const std::string& reason) {
  int n = 0;
  for (const auto& item : body["not_issued"]) n += item["reason"] == reason ? 1 : 0;
  return n;
}

inline void require_ledger_ok(TestDatabase& db) {
  auto report = loyalty::budgets::verify_ledger(db.owner(), "");
  for (const auto& p : report.problems) INFO(p.budget_name << ": " << p.message);
  REQUIRE(report.ok());
}

}  // namespace loyalty::test::shop
