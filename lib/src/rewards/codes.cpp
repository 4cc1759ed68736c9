// Voucher code pools: bulk upload through COPY, allocation to issuances, generated codes.
#include "rewards/codes.hpp"

#include "audit/audit.hpp"
#include "catalog/fields.hpp"
#include "catalog/refs.hpp"
#include "rewards/code_file.hpp"
#include "rewards/reward_rows.hpp"

#include <spdlog/spdlog.h>
#include <loyalty/core/crypto.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <pqxx/stream_to>

#include <tuple>

namespace loyalty::rewards {

namespace {

constexpr int kGenerateAttempts = 20;

const db::Query kRewardKind{"code_reward_kind",
                            "SELECT type, config::text FROM rewards "
                            "WHERE tenant_id = $1 AND id = $2::uuid"};
const db::Query kTakePooled{
    "code_take_pooled",
    "UPDATE reward_codes c SET status = 'assigned', issuance_id = $3::uuid, assigned_at = now() "
    "WHERE (c.tenant_id, c.code) = (SELECT x.tenant_id, x.code FROM reward_codes x "
    "WHERE x.tenant_id = $1 AND x.reward_id = $2::uuid AND x.status = 'available' "
    "LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING c.code"};
const db::Query kInsertGenerated{
    "code_insert_generated",
    "INSERT INTO reward_codes (tenant_id, reward_id, code, status, issuance_id, assigned_at) "
    "VALUES ($1, $2::uuid, $3, 'assigned', $4::uuid, now()) ON CONFLICT DO NOTHING "
    "RETURNING code"};
const db::Query kRedeem{"code_redeem",
                        "UPDATE reward_codes SET status = 'redeemed' "
                        "WHERE tenant_id = $1 AND code = $2 AND status = 'assigned'"};
const db::Query kTakeStock{
    "reward_take_stock",
    "UPDATE rewards SET stock = stock - 1, updated_at = now() "
    "WHERE tenant_id = $1 AND id = $2::uuid AND (stock IS NULL OR stock > 0) "
    "RETURNING stock"};
const db::Query kReturnStock{"reward_return_stock",
                             "UPDATE rewards SET stock = stock + 1, updated_at = now() "
                             "WHERE tenant_id = $1 AND id = $2::uuid AND stock IS NOT NULL"};
const db::Query kPool{"code_pool_status",
                      "SELECT count(*) FILTER (WHERE status = 'available'), "
                      "count(*) FILTER (WHERE status = 'assigned'), "
                      "count(*) FILTER (WHERE status = 'redeemed') FROM reward_codes "
                      "WHERE tenant_id = $1 AND reward_id = $2::uuid"};

PoolStatus pool_status(db::Tx& tx, const std::string& tenant_id, const std::string& reward_id) {
  auto r = tx.exec1(kPool, tenant_id, reward_id);
  return {r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), r[2].as<std::int64_t>()};
}

}  // namespace

std::string generate_code(std::string_view prefix, std::size_t length) {
  return std::string(prefix) + crypto::random_string(length, kCodeAlphabet);
}

nlohmann::json to_json(const UploadReport& report) {
  auto invalid = nlohmann::json::array();
  for (const auto& line : report.invalid) {
    invalid.push_back({{"line", line.line}, {"reason", line.reason}});
  }
  return {{"lines", report.lines},
          {"inserted", report.inserted},
          {"duplicates_in_file", report.duplicates_in_file},
          {"already_present", report.already_present},
          {"invalid", invalid},
          {"invalid_count", report.invalid_count},
          {"pool",
           {{"available", report.pool.available},
            {"assigned", report.pool.assigned},
            {"redeemed", report.pool.redeemed}}}};
}

UploadReport upload_codes(db::Database& database, const std::string& tenant_id, const Actor& actor,
                          const std::string& reward_id_or_name, std::istream& input) {
  bool attempted = false;
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    // The input streams once: a transaction retried after a deadlock cannot read it again.
    if (attempted) {
      throw Error(ErrorCode::unavailable, "contention",
                  "the upload met concurrent changes and was rolled back; run it again");
    }
    attempted = true;
    auto id = catalog::require_id(tx, tenant_id, catalog::Entity::reward, reward_id_or_name);
    Reward reward = load_reward(tx, tenant_id, id);
    if (reward.type != "voucher" || reward.config.value("source", "") != "pool") {
      throw Error(ErrorCode::invalid, "not-a-code-pool",
                  "reward '" + reward.name +
                      "' has no uploaded code pool (only voucher rewards with source \"pool\")");
    }

    // Temporary statements go unprepared: the staging table is new in every transaction.
    tx.exec_raw(
        "CREATE TEMP TABLE reward_code_upload (line bigint NOT NULL, code text NOT NULL) "
        "ON COMMIT DROP");
    UploadReport report;
    std::int64_t staged = 0;
    {
      pqxx::stream_to staging(tx.work(), "reward_code_upload",
                              std::vector<std::string>{"line", "code"});
      read_code_file(input, report, [&](std::int64_t line, const std::string& code) {
        staging << std::make_tuple(line, code);
        ++staged;
      });
      staging.complete();
    }
    if (input.bad()) {
      throw Error(ErrorCode::invalid, "unreadable-input", "the code file could not be read");
    }

    // Distinct codes in index order: the B-tree fills page by page instead of at random, which
    // is what makes a million-code file load in seconds. The sort fits in memory.
    tx.exec_raw("SELECT set_config('work_mem', '128MB', true)");
    auto counts = tx.work().exec_params(
        "WITH file AS MATERIALIZED (SELECT DISTINCT code FROM reward_code_upload ORDER BY code), "
        "added AS (INSERT INTO reward_codes (tenant_id, reward_id, code) "
        "SELECT $1::uuid, $2::uuid, code FROM file ORDER BY code ON CONFLICT DO NOTHING "
        "RETURNING 1) "
        "SELECT (SELECT count(*) FROM file), (SELECT count(*) FROM added)",
        tenant_id, id);
    auto distinct = counts[0][0].as<std::int64_t>();
    report.inserted = counts[0][1].as<std::int64_t>();
    report.duplicates_in_file = staged - distinct;
    report.already_present = distinct - report.inserted;
    report.pool = pool_status(tx, tenant_id, id);
    audit::record(tx, tenant_id, actor, "reward.upload_codes", "reward", id, nullptr,
                  {{"inserted", report.inserted},
                   {"duplicates_in_file", report.duplicates_in_file},
                   {"already_present", report.already_present},
                   {"invalid_count", report.invalid_count}});
    spdlog::debug("rewards.codes_uploaded tenant={} reward={} inserted={} invalid={}", tenant_id,
                  id, report.inserted, report.invalid_count);
    return report;
  });
}

std::optional<std::string> allocate_code(db::Tx& tx, const std::string& tenant_id,
                                         const std::string& reward_id,
                                         const std::string& issuance_id) {
  auto rows = tx.exec(kRewardKind, tenant_id, reward_id);
  if (rows.empty()) throw_not_found("reward '" + reward_id + "'");
  if (rows[0][0].as<std::string>() != "voucher") {
    throw Error(ErrorCode::invalid, "not-a-voucher", "the reward is not a voucher");
  }
  auto config = nlohmann::json::parse(rows[0][1].as<std::string>());
  if (config.value("source", "pool") == "pool") {
    auto taken = tx.exec(kTakePooled, tenant_id, reward_id, issuance_id);
    if (taken.empty()) return std::nullopt;
    return taken[0][0].as<std::string>();
  }
  auto prefix = config.value("prefix", std::string());
  auto length = config.value("length", 10);
  for (int attempt = 0; attempt < kGenerateAttempts; ++attempt) {
    auto inserted = tx.exec(kInsertGenerated, tenant_id, reward_id,
                            generate_code(prefix, static_cast<std::size_t>(length)), issuance_id);
    if (!inserted.empty()) return inserted[0][0].as<std::string>();
  }
  throw Error(ErrorCode::conflict, "code-space-exhausted",
              "could not generate a unique code: make the reward's codes longer");
}

bool mark_code_redeemed(db::Tx& tx, const std::string& tenant_id, const std::string& code) {
  return tx.exec(kRedeem, tenant_id, code).affected_rows() == 1;
}

bool take_stock(db::Tx& tx, const std::string& tenant_id, const std::string& reward_id) {
  return !tx.exec(kTakeStock, tenant_id, reward_id).empty();
}

void return_stock(db::Tx& tx, const std::string& tenant_id, const std::string& reward_id) {
  tx.exec(kReturnStock, tenant_id, reward_id);
}

}  // namespace loyalty::rewards
