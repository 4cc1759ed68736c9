#include "audit/audit.hpp"
#include "budgets/budget_rows.hpp"
#include "catalog/fields.hpp"
#include "catalog/refs.hpp"

#include <loyalty/budgets/budgets.hpp>

#include <regex>

namespace loyalty::budgets {

namespace {

using catalog::Entity;

const db::Query kNameTaken{
    "budget_name_taken",
    "SELECT EXISTS (SELECT 1 FROM budgets WHERE tenant_id = $1 AND name = $2)"};
const db::Query kInsert{
    "budget_insert",
    "INSERT INTO budgets (tenant_id, name, currency, total_minor, hard_cap, soft_cap_threshold, "
    "period, period_start) "
    "SELECT t.id, $2, $3, $4, $5, nullif($6, '')::numeric, $7, "
    "budget_period_start($7, t.timezone, app_now()) FROM tenants t WHERE t.id = $1 "
    "RETURNING id::text"};
const db::Query kFund{
    "budget_initial_funding",
    "INSERT INTO ledger_movements (tenant_id, budget_id, kind, debit_account, credit_account, "
    "amount_minor, currency, period_start, actor, created_at) "
    "SELECT b.tenant_id, b.id, 'topup', 'funding', 'available', b.total_minor, b.currency, "
    "b.period_start, $3, app_now() FROM budgets b WHERE b.tenant_id = $1 AND b.id = $2::uuid"};
const std::string kLockedSql = std::string("SELECT ") + kBudgetColumns +
                               " FROM budget_lock_current($1::uuid, $2::uuid, $3) b "
                               "WHERE b.id IS NOT NULL";
const db::Query kLocked{"budget_lock_current", kLockedSql.c_str()};
const db::Query kRollStale{
    "budget_roll_stale",
    "SELECT count(budget_lock_current(b.tenant_id, b.id, 'system')) FROM budgets b "
    "JOIN tenants t ON t.id = b.tenant_id WHERE b.tenant_id = $1 AND b.period <> 'none' "
    "AND (b.period_start IS NULL OR "
    "b.period_start < budget_period_start(b.period, t.timezone, app_now()))"};
const std::string kListSql = std::string("SELECT ") + kBudgetColumns +
                             " FROM budgets b WHERE b.tenant_id = $1 "
                             "AND (nullif($2, '') IS NULL OR (b.name, b.id) > ($2, "
                             "nullif($3, '')::uuid)) ORDER BY b.name, b.id LIMIT $4";
const db::Query kList{"budget_list", kListSql.c_str()};
const db::Query kTopup{"budget_topup",
                       "SELECT status, movement_id, amount_minor "
                       "FROM budget_topup($1::uuid, $2::uuid, $3::bigint, $4, $5)"};

/// "0.8", ".75", "1" or "1.0": a fraction in (0, 1] with at most four decimals.
std::optional<std::string> threshold_text(const nlohmann::json& value) {
  std::string text;
  if (value.is_string()) {
    text = value.get<std::string>();
  } else if (value.is_number()) {
    text = value.dump();
  } else {
    return std::nullopt;
  }
  static const std::regex kFraction(R"(^(0?\.[0-9]{1,4}|1(\.0{1,4})?)$)");
  if (!std::regex_match(text, kFraction)) return std::nullopt;
  if (std::stod(text) <= 0) return std::nullopt;
  return text;
}

}  // namespace

Budget row_to_budget(const pqxx::row& r) {
  Budget b;
  b.id = r[0].as<std::string>();
  b.name = r[1].as<std::string>();
  b.currency = r[2].as<std::string>();
  b.total = r[3].as<MinorUnits>();
  b.reserved = r[4].as<MinorUnits>();
  b.utilized = r[5].as<MinorUnits>();
  b.spent = r[6].as<MinorUnits>();
  b.hard_cap = r[7].as<bool>();
  b.soft_cap_threshold = catalog::optional_text(r[8]);
  b.period = r[9].as<std::string>();
  b.period_start = catalog::optional_text(r[10]);
  b.created_at = r[11].as<std::string>();
  b.updated_at = r[12].as<std::string>();
  return b;
}

Budget lock_budget(db::Tx& tx, const std::string& tenant_id, const std::string& budget_id,
                   const Actor& actor) {
  auto rows = tx.exec(kLocked, tenant_id, budget_id, catalog::actor_label(actor));
  if (rows.empty()) throw_not_found("budget '" + budget_id + "'");
  return row_to_budget(rows[0]);
}

nlohmann::json to_json(const Budget& b) {
  nlohmann::json threshold = nullptr;
  if (b.soft_cap_threshold) threshold = *b.soft_cap_threshold;
  return {{"id", b.id},
          {"name", b.name},
          {"currency", b.currency},
          {"total", format_amount(b.total)},
          {"reserved", format_amount(b.reserved)},
          {"utilized", format_amount(b.utilized)},
          {"spent", format_amount(b.spent)},
          {"available", format_amount(b.available())},
          {"hard_cap", b.hard_cap},
          {"soft_cap_threshold", threshold},
          {"period", b.period},
          {"period_start", b.period_start ? nlohmann::json(*b.period_start) : nullptr},
          {"created_at", b.created_at},
          {"updated_at", b.updated_at}};
}

Budget create_budget(db::Database& database, const std::string& tenant_id, const Actor& actor,
                     const nlohmann::json& fields) {
  catalog::FieldReader in(fields);
  in.only({"name", "currency", "total", "hard_cap", "period", "soft_cap_threshold"});
  auto name = in.text("name", true);
  auto currency = in.currency("currency", true);
  auto total = in.amount("total", false).value_or(0);
  bool hard_cap = in.boolean("hard_cap").value_or(true);
  auto period = in.choice("period", false, {"none", "daily", "weekly", "monthly"});
  std::string threshold;
  if (in.has("soft_cap_threshold")) {
    if (auto t = threshold_text(fields["soft_cap_threshold"])) {
      threshold = *t;
    } else {
      in.error("/soft_cap_threshold",
               "must be a fraction greater than 0 and at most 1 with at most four decimals, "
               "e.g. 0.8");
    }
  }
  in.throw_if_errors("the budget is not valid");

  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    if (tx.exec1(kNameTaken, tenant_id, *name)[0].as<bool>()) {
      throw_conflict("budget-name-taken", "a budget named '" + *name + "' already exists");
    }
    auto id = tx.exec1(kInsert, tenant_id, *name, *currency, total, hard_cap, threshold,
                       period.value_or("none"))[0]
                  .as<std::string>();
    if (total > 0) tx.exec(kFund, tenant_id, id, catalog::actor_label(actor));
    Budget b = lock_budget(tx, tenant_id, id, actor);
    audit::record(tx, tenant_id, actor, "budget.create", "budget", b.id, nullptr, to_json(b));
    return b;
  });
}

Budget get_budget(db::Database& database, const std::string& tenant_id,
                  const std::string& id_or_name) {
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto id = catalog::require_id(tx, tenant_id, Entity::budget, id_or_name);
    return lock_budget(tx, tenant_id, id, Actor::system());
  });
}

Page<Budget> list_budgets(db::Database& database, const std::string& tenant_id,
                          const PageRequest& page) {
  auto after = decode_keyed_cursor(page.cursor);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    tx.exec(kRollStale, tenant_id);
    return fill_page<Budget>(tx.exec(kList, tenant_id, after.key, after.id, page.limit + 1),
                             page.limit, row_to_budget, [](const Budget& b) {
                               return CursorPosition{b.name, b.id};
                             });
  });
}

TopupResult topup_budget(db::Database& database, const std::string& tenant_id, const Actor& actor,
                         const std::string& budget_id_or_name, const std::string& amount_text,
                         const std::string& reference) {
  nlohmann::json fields = {{"amount", amount_text}, {"reference", reference}};
  catalog::FieldReader in(fields);
  auto amount = in.amount("amount", true, 1);
  auto ref = in.text("reference", true, 200);
  in.throw_if_errors("the top-up is not valid");

  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto id = catalog::require_id(tx, tenant_id, Entity::budget, budget_id_or_name);
    Budget before = lock_budget(tx, tenant_id, id, actor);
    auto row = tx.exec1(kTopup, tenant_id, id, *amount, *ref, catalog::actor_label(actor));
    auto status = row[0].as<std::string>();
    if (status == "not_found") throw_not_found("budget '" + budget_id_or_name + "'");
    if (status == "reference_conflict") {
      throw_conflict("topup-reference-conflict",
                     "reference '" + *ref + "' was already used for a top-up of " +
                         format_amount(row[2].as<MinorUnits>()) + " " + before.currency +
                         "; a different amount needs a new reference");
    }
    TopupResult out;
    out.movement_id = row[1].as<std::int64_t>();
    out.amount = row[2].as<MinorUnits>();
    out.replayed = status == "replayed";
    out.budget = lock_budget(tx, tenant_id, id, actor);
    if (!out.replayed && out.budget.total > kMaxAmount) {
      // Thrown inside the transaction: the top-up is rolled back with it.
      throw Error(ErrorCode::invalid, "amount-too-large",
                  "a budget's total is at most " + format_amount(kMaxAmount) + "; this top-up " +
                      "would make it " + format_amount(out.budget.total),
                  {{"/amount", "would take the budget's total past " + format_amount(kMaxAmount)}});
    }
    if (!out.replayed) {
      audit::record(tx, tenant_id, actor, "budget.topup", "budget", id, to_json(before),
                    {{"budget", to_json(out.budget)},
                     {"amount", format_amount(out.amount)},
                     {"reference", *ref},
                     {"movement_id", out.movement_id}});
    }
    return out;
  });
}

}  // namespace loyalty::budgets
