#include "events/cache.hpp"

#include "db/tx.hpp"

#include <spdlog/spdlog.h>
#include <loyalty/metrics/counters.hpp>
#include <loyalty/rules/definition.hpp>

#include <mutex>
#include <unordered_map>

namespace loyalty::events {

namespace {

// With whether the tenant has segments and its tier measure (migration 0130; null without
// tiers), so that the events of a tenant without either pay nothing for them.
const db::Query kTenant{"events_tenant",
                        "SELECT rules_version, timezone, settings::text, status, "
                        "EXISTS (SELECT FROM segments s WHERE s.tenant_id = $1::uuid), "
                        "(SELECT measure FROM tier_policies WHERE tenant_id = $1::uuid) "
                        "FROM tenants WHERE id = $1::uuid"};

constexpr auto kRecheck = std::chrono::seconds(1);

}  // namespace

struct RulesCache::State {
  std::mutex mutex;
  std::unordered_map<std::string, std::shared_ptr<const Entry>> entries;
};

RulesCache::RulesCache() : state_(std::make_unique<State>()) {}
RulesCache::~RulesCache() = default;

std::shared_ptr<const RulesCache::Entry> RulesCache::get(db::Database& database,
                                                         const std::string& tenant_id) {
  auto now = std::chrono::steady_clock::now();
  auto wall = std::chrono::system_clock::now();
  std::shared_ptr<const Entry> cached;
  {
    std::lock_guard lock(state_->mutex);
    if (auto it = state_->entries.find(tenant_id); it != state_->entries.end()) cached = it->second;
  }
  if (cached && now - cached->checked_at < kRecheck &&
      (!cached->next_change || wall < *cached->next_change)) {
    metrics::counters().rules_cache.add(metrics::CacheLookup::hit);
    return cached;
  }

  struct TenantRow {
    std::int64_t version = 0;
    std::string timezone, settings, status, tier_measure;
    bool found = false, segments = false;
  };
  auto row = db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    TenantRow r;
    auto rows = tx.exec(kTenant, tenant_id);
    if (rows.empty()) return r;
    r.found = true;
    r.version = rows[0][0].as<std::int64_t>();
    r.timezone = rows[0][1].as<std::string>();
    r.settings = rows[0][2].as<std::string>();
    r.status = rows[0][3].as<std::string>();
    r.segments = rows[0][4].as<bool>();
    if (!rows[0][5].is_null()) r.tier_measure = rows[0][5].as<std::string>();
    return r;
  });
  if (!row.found) throw_not_found("tenant");

  auto entry = std::make_shared<Entry>();
  entry->checked_at = now;
  entry->timezone = row.timezone;
  entry->settings = nlohmann::json::parse(row.settings);
  entry->active = row.status == "active";
  entry->segments = row.segments;
  entry->tier_measure = row.tier_measure;
  if (cached && cached->version == row.version &&
      (!cached->next_change || wall < *cached->next_change)) {
    // Same rules: keep the compiled programs, refresh the check time and tenant settings.
    entry->version = cached->version;
    entry->next_change = cached->next_change;
    entry->rules = cached->rules;
    entry->compiled = cached->compiled;
    metrics::counters().rules_cache.add(metrics::CacheLookup::revalidated);
  } else {
    auto active = rulesets::load_active_rules(database, tenant_id);
    entry->version = active.version;
    if (active.next_change) {
      if (auto t = rules::parse_timestamp(*active.next_change)) {
        entry->next_change = std::chrono::time_point_cast<std::chrono::system_clock::duration>(*t);
      }
    }
    auto compiled = std::make_shared<rules::RuleSet>();
    for (const auto& rule : active.rules) compiled->add(rule.definition.conditions);
    entry->rules =
        std::make_shared<const std::vector<rulesets::ActiveRule>>(std::move(active.rules));
    entry->compiled = std::move(compiled);
    metrics::counters().rules_cache.add(metrics::CacheLookup::miss);
    spdlog::debug("rules.compiled tenant={} version={} rules={}", tenant_id, entry->version,
                  entry->rules->size());
  }
  std::lock_guard lock(state_->mutex);
  state_->entries[tenant_id] = entry;
  return entry;
}

}  // namespace loyalty::events
