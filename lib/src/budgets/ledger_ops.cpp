#include "budgets/ledger_ops.hpp"

#include "catalog/fields.hpp"

#include <algorithm>

namespace loyalty::budgets {

namespace {

const db::Query kReserve{
    "budget_reserve",
    "SELECT status, movement_id, " LOYALTY_TS("period_start") ", threshold_queued "
    "FROM budget_reserve($1::uuid, $2::uuid, $3::bigint, $4, nullif($5, '')::uuid, $6)"};
const db::Query kSettle{"budget_settle",
                        "SELECT status, movement_id FROM budget_settle($1::uuid, $2::uuid, $3, $4, "
                        "$5, $6::bigint, nullif($7, '')::uuid, $8)"};
// Charges for several issuances of budget $2: amounts $3, issuances $4 (parallel arrays).
const db::Query kChargeAll{"budget_charge_all",
                           "SELECT budget_charge_all($1::uuid, $2::uuid, $3::bigint[], "
                           "$4::uuid[], $5)"};
// budget_available (migration 0105): what budget_reserve would let a reservation take now.
const db::Query kRoom{"budget_room", R"sql(
  SELECT b.id::text AS id, b.currency, budget_available(b) AS available
    FROM budgets b
   WHERE b.tenant_id = $1::uuid AND b.id = ANY ($2::uuid[]))sql"};
const db::Query kClock{"budget_set_clock", "SELECT set_config('app.now', $1, true)"};

void check_amount(MinorUnits amount) {
  if (amount < 0) throw_invalid("a budget amount cannot be negative", {{"/amount", "negative"}});
}

Settlement settle(db::Tx& tx, const std::string& tenant_id, const std::string& budget_id,
                  const char* kind, const char* from, const char* to, MinorUnits amount,
                  const std::string& issuance_id, const Actor& actor) {
  check_amount(amount);
  auto row = tx.exec1(kSettle, tenant_id, budget_id, kind, from, to, amount, issuance_id,
                      catalog::actor_label(actor));
  auto status = row[0].as<std::string>();
  if (status == "not_found") throw_not_found("budget '" + budget_id + "'");
  if (status == "insufficient") {
    throw_conflict("budget-counter-underflow", std::string("cannot ") + kind + " " +
                                                   format_amount(amount) + ": the budget's " +
                                                   from + " counter holds less");
  }
  Settlement out;
  out.status = status == "closed_period" ? SettleStatus::closed_period : SettleStatus::settled;
  if (!row[1].is_null()) out.movement_id = row[1].as<std::int64_t>();
  return out;
}

}  // namespace

Reservation reserve(db::Tx& tx, const std::string& tenant_id, const std::string& budget_id,
                    MinorUnits amount, const std::string& currency, const std::string& issuance_id,
                    const Actor& actor) {
  check_amount(amount);
  auto row = tx.exec1(kReserve, tenant_id, budget_id, amount, currency, issuance_id,
                      catalog::actor_label(actor));
  auto status = row[0].as<std::string>();
  if (status == "not_found") throw_not_found("budget '" + budget_id + "'");
  if (status == "currency_mismatch") {
    throw Error(ErrorCode::invalid, "currency-mismatch",
                "the budget is not in " + currency +
                    ": a reward's cost must be in its budget's "
                    "currency");
  }
  Reservation out;
  out.status = status == "reserved" ? ReserveStatus::reserved : ReserveStatus::exhausted;
  if (!row[1].is_null()) out.movement_id = row[1].as<std::int64_t>();
  out.period_start = catalog::optional_text(row[2]);
  out.threshold_queued = row[3].as<bool>();
  return out;
}

Settlement charge(db::Tx& tx, const std::string& tenant_id, const std::string& budget_id,
                  MinorUnits amount, const std::string& issuance_id, const Actor& actor) {
  return settle(tx, tenant_id, budget_id, "charge", "reserved", "utilized", amount, issuance_id,
                actor);
}

std::map<std::string, Room> read_room(db::Tx& tx, const std::string& tenant_id,
                                      const std::vector<std::string>& budget_ids) {
  std::map<std::string, Room> out;
  if (budget_ids.empty()) return out;
  for (const auto& r : tx.exec(kRoom, tenant_id, db::array_literal(budget_ids))) {
    Room room;
    room.currency = r["currency"].as<std::string>();
    if (!r["available"].is_null()) room.available = r["available"].as<MinorUnits>();
    out.emplace(r["id"].as<std::string>(), std::move(room));
  }
  return out;
}

void reserve_with_commit(db::Tx& tx, const std::string& tenant_id, std::vector<ReserveItem> items,
                         const Actor& actor) {
  if (items.empty()) return;
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& a, const auto& b) { return a.budget_id < b.budget_id; });
  std::vector<std::string> budgets, currencies, issuances;
  std::vector<MinorUnits> amounts;
  for (const auto& item : items) {
    check_amount(item.amount);
    budgets.push_back(item.budget_id);
    amounts.push_back(item.amount);
    currencies.push_back(item.currency);  // USD or ZWG: no quoting inside the array
    issuances.push_back(item.issuance_id.empty() ? "NULL" : item.issuance_id);
  }
  // budget_reserve_group (migration 0106): one UPDATE per budget for the sum of its items, or
  // else budget_reserve for each; 40001 when one is exhausted.
  tx.exec_with_commit("SELECT budget_reserve_group(" + tx.quote(tenant_id) + "::uuid, " +
                      tx.quote(db::array_literal(budgets)) + "::uuid[], " +
                      tx.quote(db::array_literal(amounts)) + "::bigint[], " +
                      tx.quote(db::array_literal(currencies)) + "::text[], " +
                      tx.quote(db::array_literal(issuances)) + "::uuid[], " +
                      tx.quote(catalog::actor_label(actor)) + ")");
}

void charge_all(db::Tx& tx, const std::string& tenant_id, std::vector<Charge> charges,
                const Actor& actor) {
  std::stable_sort(charges.begin(), charges.end(),
                   [](const Charge& a, const Charge& b) { return a.budget_id < b.budget_id; });
  // One call per budget, in id order.
  for (auto first = charges.begin(); first != charges.end();) {
    auto last = std::find_if(first, charges.end(),
                             [&](const Charge& c) { return c.budget_id != first->budget_id; });
    std::vector<std::string> issuances;
    std::vector<MinorUnits> amounts;
    MinorUnits total = 0;
    for (auto c = first; c != last; ++c) {
      check_amount(c->amount);
      amounts.push_back(c->amount);
      issuances.push_back(c->issuance_id);
      total = checked_add(total, c->amount);
    }
    auto status = tx.exec1(kChargeAll, tenant_id, first->budget_id, db::array_literal(amounts),
                           db::array_literal(issuances), catalog::actor_label(actor))[0]
                      .as<std::string>();
    if (status == "not_found") throw_not_found("budget '" + first->budget_id + "'");
    if (status == "insufficient") {
      throw_conflict("budget-counter-underflow", "cannot charge " + format_amount(total) +
                                                     ": the budget's reserved counter holds less");
    }
    first = last;
  }
}

Settlement spend(db::Tx& tx, const std::string& tenant_id, const std::string& budget_id,
                 MinorUnits amount, const std::string& issuance_id, const Actor& actor) {
  return settle(tx, tenant_id, budget_id, "spend", "utilized", "spent", amount, issuance_id, actor);
}

Settlement release(db::Tx& tx, const std::string& tenant_id, const std::string& budget_id,
                   MinorUnits amount, const std::string& issuance_id, ReleaseFrom from,
                   const Actor& actor) {
  return settle(tx, tenant_id, budget_id, "release",
                from == ReleaseFrom::reserved ? "reserved" : "utilized", "available", amount,
                issuance_id, actor);
}

void set_clock(db::Tx& tx, const std::string& instant) { tx.exec(kClock, instant); }

}  // namespace loyalty::budgets
