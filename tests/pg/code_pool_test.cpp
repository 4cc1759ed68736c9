// The reward catalogue and voucher code pools against a real PostgreSQL.
#include "db/tx.hpp"
#include "rewards/codes.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace rewards = loyalty::rewards;
using loyalty::Actor;
using loyalty::db::Tx;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

std::string make_tenant(TestDatabase& db, const std::string& slug) {
  loyalty::tenants::CreateTenantRequest req;
  req.name = slug;
  req.slug = slug;
  return loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
}

rewards::Reward pool_reward(TestDatabase& db, const std::string& tenant,
                            const std::string& name = "Free coffee") {
  return rewards::create_reward(db.app(), tenant, Actor::operator_cli(),
                                {{"name", name},
                                 {"type", "voucher"},
                                 {"cost", "2.50"},
                                 {"currency", "USD"},
                                 {"config", {{"source", "pool"}}}});
}

rewards::UploadReport upload(TestDatabase& db, const std::string& tenant, const std::string& reward,
                             const std::string& content) {
  std::istringstream in(content);
  return rewards::upload_codes(db.app(), tenant, Actor::operator_cli(), reward, in);
}

std::set<std::string> pointers_of(const loyalty::Error& e) {
  std::set<std::string> out;
  for (const auto& f : e.fields()) out.insert(f.pointer);
  return out;
}

}  // namespace

TEST_CASE("rewards: each type's config is validated with pointers into config", "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "catalogue");
  auto attempt = [&](json fields) -> std::set<std::string> {
    try {
      rewards::create_reward(db.app(), tenant, Actor::operator_cli(), fields);
    } catch (const loyalty::Error& e) {
      CHECK(e.code() == loyalty::ErrorCode::invalid);
      return pointers_of(e);
    }
    return {};
  };
  json base = {{"name", "r"}, {"cost", "1.00"}, {"currency", "USD"}};
  auto with = [&](json extra) {
    json out = base;
    out.update(extra);
    return out;
  };
  CHECK(
      attempt(with({{"type", "discount"}, {"config", {{"kind", "percent"}, {"percent", 120}}}})) ==
      std::set<std::string>{"/config/percent"});
  CHECK(attempt(with({{"type", "discount"}, {"config", {{"kind", "fixed"}, {"amount", 5}}}})) ==
        std::set<std::string>{"/config/amount"});
  CHECK(attempt(with({{"type", "voucher"},
                      {"config", {{"source", "generated"}, {"length", 3}, {"prefix", "x y"}}}})) ==
        std::set<std::string>{"/config/length", "/config/prefix"});
  CHECK(attempt(with({{"type", "points"}, {"config", json::object()}})) ==
        std::set<std::string>{"/config/points"});
  CHECK(attempt(with({{"type", "physical"}, {"config", {{"stock", -1}}}})) ==
        std::set<std::string>{"/config/stock"});
  CHECK(attempt({{"type", "lottery"},
                 {"cost", "1.5.0"},
                 {"currency", "GBP"},
                 {"valid_from", "2025-02-01T00:00:00Z"},
                 {"valid_until", "2025-01-01T00:00:00Z"}}) ==
        std::set<std::string>{"/name", "/type", "/cost", "/currency", "/valid_until"});

  auto discount =
      rewards::create_reward(db.app(), tenant, Actor::operator_cli(),
                             with({{"name", "10% off"},
                                   {"type", "discount"},
                                   {"config", {{"kind", "percent"}, {"percent", 10}}}}));
  CHECK(discount.cost == 100);
  CHECK(rewards::to_json(discount)["cost"] == "1.00");
  auto points = rewards::create_reward(
      db.app(), tenant, Actor::operator_cli(),
      with({{"name", "100 points"}, {"type", "points"}, {"config", {{"points", 100}}}}));
  CHECK(points.points == 100);
  CHECK(points.config["points"] == 100);
  CHECK_FALSE(points.pool);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM audit_log WHERE action = 'reward.create'") ==
        "2");
}

TEST_CASE("rewards: a merge patch changes a reward and is audited with before and after", "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "patching");
  auto mug = rewards::create_reward(db.app(), tenant, Actor::operator_cli(),
                                    {{"name", "Mug"},
                                     {"type", "physical"},
                                     {"cost", "4.00"},
                                     {"currency", "USD"},
                                     {"config", {{"stock", 3}, {"sku", "MUG-1"}}}});
  auto patched = rewards::update_reward(db.app(), tenant, {"user", "u-1"}, "Mug",
                                        {{"cost", "4.50"}, {"config", {{"stock", 10}}}});
  CHECK(patched.cost == 450);
  CHECK(patched.stock == 10);
  CHECK(patched.config["sku"] == "MUG-1");
  auto audit =
      json::parse(sql_value(db.owner(),
                            "SELECT json_build_object('before', before, 'after', after, 'actor', "
                            "actor_id)::text FROM audit_log WHERE action = 'reward.update'"));
  CHECK(audit["before"]["cost"] == "4.00");
  CHECK(audit["after"]["cost"] == "4.50");
  CHECK(audit["actor"] == "u-1");
  CHECK_THROWS_AS(rewards::update_reward(db.app(), tenant, Actor::operator_cli(), mug.id,
                                         {{"config", {{"stock", -5}}}}),
                  loyalty::Error);
  CHECK(rewards::get_reward(db.app(), tenant, mug.id).stock == 10);
}

TEST_CASE("rewards: physical stock never goes below zero", "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "stock");
  auto mug = rewards::create_reward(
      db.app(), tenant, Actor::operator_cli(),
      {{"name", "Mug"}, {"type", "physical"}, {"currency", "USD"}, {"config", {{"stock", 2}}}});
  auto taken = loyalty::db::with_tenant(db.app(), tenant, [&](Tx& tx) {
    int n = 0;
    for (int i = 0; i < 5; ++i) n += rewards::take_stock(tx, tenant, mug.id) ? 1 : 0;
    return n;
  });
  CHECK(taken == 2);
  CHECK(rewards::get_reward(db.app(), tenant, mug.id).stock == 0);
}

TEST_CASE("code pool: duplicates, present codes, invalid lines and CRLF are all reported", "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "codes");
  auto reward = pool_reward(db, tenant);
  upload(db, tenant, reward.id, "PRESENT1\n");

  std::string file =
      "code\r\n"                 // 1: header, skipped
      "ABCD1234\r\n"             // 2
      "ABCD1234\r\n"             // 3: duplicate in the file
      "  EFGH-5678 \r\n"         // 4: trimmed
      "bad code!\r\n"            // 5: invalid characters
      "XY\r\n"                   // 6: too short
      "\xff\xfeZZZZ\r\n"         // 7: not UTF-8
      "\r\n"                     // 8: blank, ignored
      "PRESENT1\r\n"             // 9: already in the pool
      "\"QUOTED99\",extra\r\n";  // 10: a CSV line: the first column
  auto report = upload(db, tenant, "Free coffee", file);
  CHECK(report.lines == 10);
  CHECK(report.inserted == 3);
  CHECK(report.duplicates_in_file == 1);
  CHECK(report.already_present == 1);
  CHECK(report.invalid_count == 3);
  REQUIRE(report.invalid.size() == 3);
  CHECK(report.invalid[0].line == 5);
  CHECK(report.invalid[0].reason == "characters other than A-Z, a-z, 0-9, '-' and '_'");
  CHECK(report.invalid[1].line == 6);
  CHECK(report.invalid[1].reason.find("4 to 64") != std::string::npos);
  CHECK(report.invalid[2].line == 7);
  CHECK(report.invalid[2].reason == "not valid UTF-8");
  CHECK(report.pool.available == 4);
  CHECK(sql_value(db.owner(), "SELECT string_agg(code, ',' ORDER BY code) FROM reward_codes") ==
        "ABCD1234,EFGH-5678,PRESENT1,QUOTED99");
  auto shown = rewards::get_reward(db.app(), tenant, reward.id);
  REQUIRE(shown.pool);
  CHECK(shown.pool->available == 4);
  CHECK(rewards::to_json(report)["invalid"][0] ==
        json{{"line", 5}, {"reason", report.invalid[0].reason}});
}

TEST_CASE("code pool: an empty file loads nothing and says so", "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "empty-file");
  auto reward = pool_reward(db, tenant);
  auto report = upload(db, tenant, reward.id, "");
  CHECK(report.lines == 0);
  CHECK(report.inserted == 0);
  CHECK(report.invalid_count == 0);
  CHECK(upload(db, tenant, reward.id, "\n\n  \n").inserted == 0);
}

TEST_CASE("code pool: a failed upload leaves nothing half-loaded", "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "atomic");
  auto generated = rewards::create_reward(db.app(), tenant, Actor::operator_cli(),
                                          {{"name", "Gen"},
                                           {"type", "voucher"},
                                           {"currency", "USD"},
                                           {"config", {{"source", "generated"}}}});
  CHECK_THROWS_MATCHES(upload(db, tenant, generated.id, "ABCD1234\n"), loyalty::Error,
                       Catch::Predicate<loyalty::Error>(
                           [](const loyalty::Error& e) { return e.type() == "not-a-code-pool"; }));
  // A file whose reading fails after 5,000 valid lines: the whole upload rolls back.
  auto reward = pool_reward(db, tenant);
  std::string big;
  for (int i = 0; i < 5000; ++i) big += "CODE" + std::to_string(100000 + i) + "\n";
  struct FailingBuf : std::stringbuf {
    explicit FailingBuf(const std::string& s) : std::stringbuf(s) {}
    int underflow() override { throw std::runtime_error("read error"); }
  };
  FailingBuf buf(big);
  std::istream failing(&buf);
  CHECK_THROWS(rewards::upload_codes(db.app(), tenant, Actor::operator_cli(), reward.id, failing));
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM reward_codes") == "0");
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM audit_log WHERE action = "
                  "'reward.upload_codes'") == "0");
}

TEST_CASE("code pool: concurrent issuances each get a different code until the pool is empty",
          "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "alloc");
  auto reward = pool_reward(db, tenant);
  std::string file;
  for (int i = 0; i < 10; ++i) file += "POOL" + std::to_string(1000 + i) + "\n";
  REQUIRE(upload(db, tenant, reward.id, file).inserted == 10);
  auto customer = sql_value(db.owner(), "INSERT INTO customers (tenant_id, phone) VALUES ('" +
                                            tenant + "', '+263771000001') RETURNING id");

  auto pool = loyalty::db::Database::open_url(db.app_url(), 10, std::chrono::seconds(60));
  std::mutex mutex;
  std::vector<std::string> codes;
  std::atomic<int> empty{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 25; ++i) {
    threads.emplace_back([&] {
      auto code = loyalty::db::with_tenant(*pool, tenant, [&](Tx& tx) {
        auto issuance = tx.exec_raw(
                              "INSERT INTO issuances (tenant_id, customer_id, reward_id, "
                              "currency) VALUES ('" +
                              tenant + "', '" + customer + "', '" + reward.id +
                              "', 'USD') RETURNING id::text")[0][0]
                            .as<std::string>();
        return rewards::allocate_code(tx, tenant, reward.id, issuance);
      });
      std::lock_guard lock(mutex);
      if (code) {
        codes.push_back(*code);
      } else {
        ++empty;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(codes.size() == 10);
  CHECK(std::set<std::string>(codes.begin(), codes.end()).size() == 10);
  CHECK(empty == 15);
  auto shown = rewards::get_reward(db.app(), tenant, reward.id);
  CHECK(shown.pool->available == 0);
  CHECK(shown.pool->assigned == 10);
}

TEST_CASE("code pool: generated codes carry the prefix and no look-alike characters", "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "generated");
  auto reward = rewards::create_reward(
      db.app(), tenant, Actor::operator_cli(),
      {{"name", "Xmas"},
       {"type", "voucher"},
       {"currency", "USD"},
       {"config", {{"source", "generated"}, {"length", 8}, {"prefix", "XMAS-"}}}});
  auto customer = sql_value(db.owner(), "INSERT INTO customers (tenant_id, phone) VALUES ('" +
                                            tenant + "', '+263771000002') RETURNING id");
  std::set<std::string> seen;
  loyalty::db::with_tenant(db.app(), tenant, [&](Tx& tx) {
    for (int i = 0; i < 200; ++i) {
      auto issuance = tx.exec_raw(
                            "INSERT INTO issuances (tenant_id, customer_id, reward_id, "
                            "currency) VALUES ('" +
                            tenant + "', '" + customer + "', '" + reward.id +
                            "', 'USD') RETURNING id::text")[0][0]
                          .as<std::string>();
      auto code = rewards::allocate_code(tx, tenant, reward.id, issuance);
      REQUIRE(code);
      REQUIRE(code->size() == 13);
      REQUIRE(code->rfind("XMAS-", 0) == 0);
      REQUIRE(code->substr(5).find_first_not_of(rewards::kCodeAlphabet) == std::string::npos);
      seen.insert(*code);
    }
  });
  CHECK(seen.size() == 200);
  for (char c : std::string("01ILO")) {
    CHECK(rewards::kCodeAlphabet.find(c) == std::string_view::npos);
  }
}
