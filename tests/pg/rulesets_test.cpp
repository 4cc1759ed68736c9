// Stored rules and campaigns against a real PostgreSQL: validation against the tenant, atomic
// import, export round trips, and which rules the event pipeline gets.
#include "budgets/ledger_ops.hpp"
#include "db/tx.hpp"
#include "rulesets/active.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>
#include <loyalty/campaigns/campaigns.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <loyalty/rules/engine.hpp>
#include <loyalty/rulesets/rulesets.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <algorithm>
#include <set>

namespace rulesets = loyalty::rulesets;
using loyalty::Actor;
using loyalty::db::Tx;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

struct Fixture {
  TestDatabase db;
  std::string tenant;

  explicit Fixture(const std::string& slug) {
    loyalty::tenants::CreateTenantRequest req;
    req.name = slug;
    req.slug = slug;
    tenant = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
    loyalty::budgets::create_budget(db.app(), tenant, Actor::operator_cli(),
                                    {{"name", "promo"}, {"currency", "USD"}, {"total", "100"}});
    loyalty::budgets::create_budget(db.app(), tenant, Actor::operator_cli(),
                                    {{"name", "zwg-budget"}, {"currency", "ZWG"}});
    loyalty::rewards::create_reward(db.app(), tenant, Actor::operator_cli(),
                                    {{"name", "double-points"},
                                     {"type", "points"},
                                     {"cost", "1.00"},
                                     {"currency", "USD"},
                                     {"config", {{"points", 100}}}});
  }

  std::string count(const std::string& table) {
    return sql_value(db.owner(), "SELECT count(*) FROM " + table);
  }
  std::string version() {
    return sql_value(db.owner(), "SELECT rules_version FROM tenants WHERE id = '" + tenant + "'");
  }
};

json rule(const std::string& name, json extra = json::object()) {
  json out = {{"name", name},
              {"event_type", "purchase"},
              {"conditions", {{">=", {{{"var", "event.amount"}}, 50}}}},
              {"reward", "double-points"}};
  out.update(extra);
  return out;
}

std::set<std::string> pointers_of(const loyalty::Error& e) {
  std::set<std::string> out;
  for (const auto& f : e.fields()) out.insert(f.pointer);
  return out;
}

/// Names of the rules that match an event, evaluated by the engine as the pipeline will.
std::vector<std::string> firing(Fixture& f, const json& event) {
  auto set = rulesets::load_active_rules(f.db.app(), f.tenant);
  loyalty::rules::RuleSet compiled;
  for (const auto& r : set.rules) compiled.add(r.definition.conditions);
  auto data = compiled.prepare({{"event", event}});
  loyalty::rules::Evaluator evaluator;
  std::vector<std::string> out;
  for (std::size_t i = 0; i < compiled.size(); ++i) {
    if (set.rules[i].definition.event_type != event["type"]) continue;
    if (evaluator.matches(compiled[i], data)) out.push_back(set.rules[i].definition.name);
  }
  return out;
}

}  // namespace

TEST_CASE("rules: an import with any bad rule writes nothing and reports every pointer", "[pg]") {
  Fixture f("import-errors");
  json document = {{"rules",
                    {rule("good"),
                     rule("bad", {{"reward", "no-such-reward"},
                                  {"budget", "nope"},
                                  {"conditions", {{"frobnicate", {1}}}}}),
                     rule("good", {{"event_type", "Purchase"}})}}};
  auto version = f.version();
  try {
    rulesets::import_rules(f.db.app(), f.tenant, Actor::operator_cli(), document, {});
    FAIL("expected invalid");
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::invalid);
    auto pointers = pointers_of(e);
    CHECK(pointers.count("/rules/1/reward"));
    CHECK(pointers.count("/rules/1/budget"));
    CHECK(std::any_of(pointers.begin(), pointers.end(),
                      [](const std::string& p) { return p.rfind("/rules/1/conditions", 0) == 0; }));
    CHECK(pointers.count("/rules/2/name"));        // duplicate name
    CHECK(pointers.count("/rules/2/event_type"));  // the table's stricter event type
    CHECK_FALSE(pointers.count("/rules/0/reward"));
  }
  CHECK(f.count("rules") == "0");
  CHECK(f.version() == version);
  CHECK(sql_value(f.db.owner(), "SELECT count(*) FROM audit_log WHERE entity_type = 'rule'") ==
        "0");
}

TEST_CASE("rules: a budget in another currency than the reward is refused", "[pg]") {
  Fixture f("currency-rule");
  try {
    rulesets::create_rule(f.db.app(), f.tenant, Actor::operator_cli(),
                          rule("zwg", {{"budget", "zwg-budget"}}));
    FAIL("expected invalid");
  } catch (const loyalty::Error& e) {
    CHECK(pointers_of(e) == std::set<std::string>{"/budget"});
  }
}

TEST_CASE("rules: export then import is a no-op, and a dry run writes nothing", "[pg]") {
  Fixture f("round-trip");
  auto campaign = loyalty::campaigns::create_campaign(f.db.app(), f.tenant, Actor::operator_cli(),
                                                      {{"name", "Summer"}, {"status", "active"}});
  json document = {
      {"rules",
       {rule("big spender",
             {{"budget", "promo"},
              {"campaign", "Summer"},
              {"priority", 10},
              {"caps", {{"per_customer", {{"max", 1}, {"period", "week"}}}, {"cooldown", 3600}}},
              {"valid_from", "2025-01-01T00:00:00+02:00"}}),
        rule("weekday visit", {{"event_type", "visit"},
                               {"conditions", {{"in", {{{"var", "event.store"}}, {"A", "B"}}}}},
                               {"stop_processing", true}})}}};

  auto dry =
      rulesets::import_rules(f.db.app(), f.tenant, Actor::operator_cli(), document, {true, false});
  CHECK(dry.dry_run);
  CHECK(dry.created == std::vector<std::string>{"big spender", "weekday visit"});
  CHECK(f.count("rules") == "0");

  auto first = rulesets::import_rules(f.db.app(), f.tenant, Actor::operator_cli(), document, {});
  CHECK(first.created.size() == 2);
  auto version = f.version();
  auto exported = rulesets::export_rules(f.db.app(), f.tenant);
  REQUIRE(exported["rules"].size() == 2);
  CHECK(exported["rules"][0]["budget"] == "promo");
  CHECK(exported["rules"][0]["campaign"] == "Summer");
  CHECK(exported["rules"][0]["valid_from"] == "2024-12-31T22:00:00Z");

  auto again = rulesets::import_rules(f.db.app(), f.tenant, Actor::operator_cli(),
                                      json::parse(exported.dump()), {});
  CHECK(again.unchanged == std::vector<std::string>{"big spender", "weekday visit"});
  CHECK(again.created.empty());
  CHECK(again.updated.empty());
  CHECK(f.version() == version);
  CHECK(rulesets::export_rules(f.db.app(), f.tenant) == exported);

  // References by id resolve to the same rows: still unchanged.
  exported["rules"][0]["campaign"] = campaign.id;
  CHECK(rulesets::import_rules(f.db.app(), f.tenant, Actor::operator_cli(), exported, {})
            .unchanged.size() == 2);

  // --replace with one rule: the other goes.
  json one = {{"rules", {exported["rules"][1]}}};
  auto replaced =
      rulesets::import_rules(f.db.app(), f.tenant, Actor::operator_cli(), one, {false, true});
  CHECK(replaced.deleted == std::vector<std::string>{"big spender"});
  CHECK(f.count("rules") == "1");
  CHECK(f.version() != version);
}

TEST_CASE("rules: create, patch and delete through the store bump the rules version", "[pg]") {
  Fixture f("crud");
  auto v0 = f.version();
  auto created = rulesets::create_rule(f.db.app(), f.tenant, {"user", "u-9"}, rule("r1"));
  CHECK(created.definition.reward == "double-points");
  auto v1 = f.version();
  CHECK(v1 != v0);
  CHECK_THROWS_MATCHES(
      rulesets::create_rule(f.db.app(), f.tenant, Actor::operator_cli(), rule("r1")),
      loyalty::Error, Catch::Predicate<loyalty::Error>([](const loyalty::Error& e) {
        return e.code() == loyalty::ErrorCode::conflict;
      }));
  auto patched = rulesets::update_rule(f.db.app(), f.tenant, Actor::operator_cli(), "r1",
                                       {{"priority", 5}, {"caps", {{"cooldown", 60}}}});
  CHECK(patched.definition.priority == 5);
  CHECK(patched.definition.caps.cooldown == 60);
  CHECK(f.version() != v1);
  try {
    rulesets::update_rule(f.db.app(), f.tenant, Actor::operator_cli(), created.id,
                          {{"conditions", {{"no-such-operator", {1}}}}, {"reward", nullptr}});
    FAIL("expected invalid");
  } catch (const loyalty::Error& e) {
    auto pointers = pointers_of(e);
    CHECK(pointers.count("/reward"));
    CHECK(std::any_of(pointers.begin(), pointers.end(),
                      [](const std::string& p) { return p.rfind("/conditions", 0) == 0; }));
  }
  rulesets::delete_rule(f.db.app(), f.tenant, Actor::operator_cli(), created.id);
  CHECK(f.count("rules") == "0");
  CHECK(sql_value(f.db.owner(),
                  "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE entity_type = "
                  "'rule'") == "rule.create,rule.update,rule.delete");
}

TEST_CASE("rules: a paused campaign's rule does not fire", "[pg]") {
  Fixture f("paused");
  loyalty::campaigns::create_campaign(f.db.app(), f.tenant, Actor::operator_cli(),
                                      {{"name", "Summer"}, {"status", "active"}});
  rulesets::create_rule(f.db.app(), f.tenant, Actor::operator_cli(),
                        rule("summer bonus", {{"campaign", "Summer"}}));
  rulesets::create_rule(f.db.app(), f.tenant, Actor::operator_cli(), rule("always"));
  json event = {{"type", "purchase"}, {"amount", 75}};
  CHECK(firing(f, event) == std::vector<std::string>{"always", "summer bonus"});

  auto before = rulesets::load_active_rules(f.db.app(), f.tenant).version;
  loyalty::campaigns::update_campaign(f.db.app(), f.tenant, Actor::operator_cli(), "Summer",
                                      {{"status", "paused"}});
  auto paused = rulesets::load_active_rules(f.db.app(), f.tenant);
  CHECK(paused.version > before);  // caches see the change
  CHECK(firing(f, event) == std::vector<std::string>{"always"});

  loyalty::campaigns::update_campaign(f.db.app(), f.tenant, Actor::operator_cli(), "Summer",
                                      {{"status", "active"}});
  CHECK(firing(f, event).size() == 2);
  loyalty::campaigns::update_campaign(f.db.app(), f.tenant, Actor::operator_cli(), "Summer",
                                      {{"status", "ended"}});
  CHECK(firing(f, event) == std::vector<std::string>{"always"});
  CHECK_THROWS_MATCHES(
      loyalty::campaigns::update_campaign(f.db.app(), f.tenant, Actor::operator_cli(), "Summer",
                                          {{"status", "active"}}),
      loyalty::Error, Catch::Predicate<loyalty::Error>([](const loyalty::Error& e) {
        return e.type() == "invalid-transition";
      }));
}

TEST_CASE("rules: rules outside their campaign's dates or their own do not fire", "[pg]") {
  Fixture f("dated");
  loyalty::campaigns::create_campaign(f.db.app(), f.tenant, Actor::operator_cli(),
                                      {{"name", "December"},
                                       {"status", "active"},
                                       {"starts_at", "2099-12-01T00:00:00+02:00"},
                                       {"ends_at", "2100-01-01T00:00:00+02:00"}});
  rulesets::create_rule(f.db.app(), f.tenant, Actor::operator_cli(),
                        rule("december", {{"campaign", "December"}}));
  rulesets::create_rule(f.db.app(), f.tenant, Actor::operator_cli(),
                        rule("expired", {{"valid_until", "2001-01-01T00:00:00Z"}}));
  rulesets::create_rule(f.db.app(), f.tenant, Actor::operator_cli(),
                        rule("inactive", {{"active", false}}));

  auto now = rulesets::load_active_rules(f.db.app(), f.tenant);
  CHECK(now.rules.empty());
  CHECK(now.next_change == "2099-11-30T22:00:00.000000Z");

  auto during = loyalty::db::with_tenant(f.db.app(), f.tenant, [&](Tx& tx) {
    loyalty::budgets::set_clock(tx, "2099-12-24T12:00:00Z");
    return rulesets::load_active_rules(tx, f.tenant);
  });
  REQUIRE(during.rules.size() == 1);
  CHECK(during.rules[0].definition.name == "december");
  // The pipeline gets ids, and the budget an issuance reserves from.
  CHECK(during.rules[0].definition.reward == during.rules[0].reward_id);
  CHECK(during.next_change == "2099-12-31T22:00:00.000000Z");
}

TEST_CASE("campaigns: fields are validated and changes are audited", "[pg]") {
  Fixture f("campaigns");
  try {
    loyalty::campaigns::create_campaign(f.db.app(), f.tenant, Actor::operator_cli(),
                                        {{"status", "live"},
                                         {"starts_at", "2025-02-01T00:00:00Z"},
                                         {"ends_at", "2025-01-01T00:00:00Z"},
                                         {"budget", "missing"}});
    FAIL("expected invalid");
  } catch (const loyalty::Error& e) {
    CHECK(pointers_of(e) == std::set<std::string>{"/name", "/status", "/ends_at"});
  }
  auto c = loyalty::campaigns::create_campaign(f.db.app(), f.tenant, Actor::operator_cli(),
                                               {{"name", "Winter"}, {"budget", "promo"}});
  CHECK(c.status == "draft");
  CHECK(c.budget_id);
  auto page = loyalty::campaigns::list_campaigns(f.db.app(), f.tenant, "draft", {50, ""});
  CHECK(page.items.size() == 1);
  CHECK(sql_value(f.db.owner(), "SELECT count(*) FROM audit_log WHERE action LIKE 'campaign.%'") ==
        "1");
}
