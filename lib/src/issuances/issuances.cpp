#include "audit/audit.hpp"
#include "budgets/ledger_ops.hpp"
#include "db/tx.hpp"
#include "issuances/internal.hpp"
#include "points/lots.hpp"
#include "tiers/evaluate.hpp"

#include <loyalty/core/crypto.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/issuances/issuances.hpp>
#include <loyalty/metrics/counters.hpp>

#include <algorithm>
#include <set>
#include <vector>

namespace loyalty::issuances {

namespace {

using db::Query;

std::string select_sql(const std::string& where) {
  return std::string("SELECT ") + kIssuanceColumns +
         " FROM issuances i JOIN rewards r ON r.tenant_id = i.tenant_id AND r.id = i.reward_id " +
         where;
}

const std::string kGetSql = select_sql("WHERE i.tenant_id = $1::uuid AND i.id = $2::uuid");
const Query kGet{"iss_get", kGetSql.c_str()};
const std::string kByCodeSql = select_sql("WHERE i.tenant_id = $1::uuid AND i.code = $2");
const Query kByCode{"iss_by_code", kByCodeSql.c_str()};
const std::string kForEventsSql = select_sql(
    "WHERE i.tenant_id = $1::uuid AND i.event_id = ANY($2::uuid[]) ORDER BY i.created_at, i.id");
const Query kForEvents{"iss_for_events", kForEventsSql.c_str()};
const std::string kListSql = select_sql(
    "WHERE i.tenant_id = $1::uuid AND ($2 = '' OR i.customer_id = nullif($2, '')::uuid) AND "
    "($3 = '' OR i.state = $3) AND ($4 = '' OR i.event_id = nullif($4, '')::uuid) AND "
    "($5 = '' OR i.reward_id = nullif($5, '')::uuid) AND "
    "($6 = '' OR (i.created_at, i.id) < ($6::timestamptz, $7::uuid)) "
    "ORDER BY i.created_at DESC, i.id DESC LIMIT $8");
const Query kList{"iss_list", kListSql.c_str(), db::Plan::per_call};

// reserved -> issued for every reserved issuance of some events. The customers are found by
// their ids (an InitPlan, then the primary key), a plan that stays good on tables whose
// statistics are not yet gathered.
const Query kLockIssueCustomers{
    "iss_lock_issue_customers",
    "SELECT 1 FROM customers WHERE tenant_id = $1::uuid AND id = ANY(ARRAY(SELECT customer_id "
    "FROM issuances WHERE tenant_id = $1::uuid AND event_id = ANY($2::uuid[]) AND state = "
    "'reserved')) ORDER BY id FOR NO KEY UPDATE"};
const Query kIssue{"iss_issue_events",
                   "UPDATE issuances SET state = 'issued', issued_at = app_now(), updated_at = "
                   "now() WHERE tenant_id = $1::uuid AND event_id = ANY($2::uuid[]) AND state = "
                   "'reserved' RETURNING id::text, customer_id::text, coalesce(budget_id::text, "
                   "''), cost_minor, coalesce(points, 0)"};
const Query kIssueOne{"iss_issue_one",
                      "UPDATE issuances SET state = 'issued', issued_at = app_now(), updated_at = "
                      "now() WHERE tenant_id = $1::uuid AND id = $2::uuid AND state = 'reserved' "
                      "RETURNING id::text, customer_id::text, coalesce(budget_id::text, ''), "
                      "cost_minor, coalesce(points, 0)"};
const Query kSetPin{"iss_set_pin",
                    "UPDATE issuances SET pin_hash = $3, pin_attempts = 0 WHERE tenant_id = "
                    "$1::uuid AND id = $2::uuid"};
// One outbox row per element of the JSON array $3.
const Query kOutbox{"iss_outbox",
                    "INSERT INTO outbox (tenant_id, event_type, payload) VALUES ($1::uuid, $2, "
                    "$3::jsonb)"};
const Query kOutboxAll{"iss_outbox_all",
                       "INSERT INTO outbox (tenant_id, event_type, payload) SELECT $1::uuid, $2, "
                       "p FROM jsonb_array_elements($3::jsonb) p"};
// One notification per element of the JSON array $3, to its customer_id, when the customer can
// be reached. The customers are found by their ids (= ANY of an array: the primary key): joined
// on the JSON alone, the planner scanned the whole table whenever few customers had consented.
const Query kNotify{
    "iss_notify_all",
    "INSERT INTO notifications (tenant_id, customer_id, channel, template, payload) "
    "SELECT c.tenant_id, c.id, 'whatsapp', $2, m FROM jsonb_array_elements($3::jsonb) m JOIN "
    "customers c ON c.id = (m->>'customer_id')::uuid WHERE c.tenant_id = $1::uuid AND c.id = "
    "ANY(ARRAY(SELECT (e->>'customer_id')::uuid FROM jsonb_array_elements($3::jsonb) e)) AND "
    "c.phone IS NOT NULL AND c.status = 'active' AND c.consent_at IS NOT NULL"};

// The customer hears that their reward was used (a stolen code shows up at once).
const Query kNotifyRedeemed{
    "iss_notify_redeemed",
    "INSERT INTO notifications (tenant_id, customer_id, channel, template, payload) "
    "SELECT c.tenant_id, c.id, 'whatsapp', 'reward_redeemed', $3::jsonb FROM customers c "
    "WHERE c.tenant_id = $1::uuid AND c.id = $2::uuid AND c.phone IS NOT NULL AND "
    "c.status = 'active' AND c.consent_at IS NOT NULL"};

const Query kRedeem{
    "iss_redeem",
    "UPDATE issuances i SET state = 'redeemed', redeemed_at = app_now(), updated_at = now() "
    "FROM rewards r WHERE i.tenant_id = $1::uuid AND i.id = $2::uuid AND i.state = 'issued' "
    "AND (i.expires_at IS NULL OR i.expires_at > app_now()) AND ($3::text IS NULL OR i.code = "
    "$3) AND (i.pin_hash IS NULL OR (i.pin_hash = $4 AND i.pin_attempts < 5 AND "
    "(i.pin_expires_at IS NULL OR i.pin_expires_at > now()))) "
    "AND r.tenant_id = i.tenant_id AND r.id = i.reward_id AND r.type <> 'points' "
    "RETURNING i.id::text"};
// A wrong PIN is counted (in its own committed transaction: the redemption fails).
const Query kWrongPin{"iss_wrong_pin",
                      "UPDATE issuances SET pin_attempts = pin_attempts + 1, updated_at = now() "
                      "WHERE tenant_id = $1::uuid AND id = $2::uuid AND state = 'issued' AND "
                      "pin_hash IS NOT NULL AND pin_hash <> $3 AND pin_attempts < 5 "
                      "RETURNING pin_attempts"};
// The right PIN, past the few minutes a fresh one lives.
const Query kPinExpired{"iss_pin_expired",
                        "SELECT count(*) FROM issuances WHERE tenant_id = $1::uuid AND id = "
                        "$2::uuid AND pin_hash = $3 AND pin_expires_at <= now()"};
// A fresh one-time PIN for an issued reward of this customer that needs one.
const Query kFreshPin{"iss_fresh_pin",
                      "UPDATE issuances i SET pin_hash = $4, pin_attempts = 0, pin_expires_at = "
                      "now() + make_interval(secs => $5), updated_at = now() FROM rewards r "
                      "WHERE i.tenant_id = $1::uuid AND i.id = $2::uuid AND i.customer_id = "
                      "$3::uuid AND i.state = 'issued' AND (i.expires_at IS NULL OR i.expires_at "
                      "> app_now()) AND r.tenant_id = i.tenant_id AND r.id = i.reward_id AND "
                      "r.requires_pin RETURNING i.id"};
const Query kCodeRedeemed{"iss_code_redeemed",
                          "UPDATE reward_codes SET status = 'redeemed' WHERE tenant_id = "
                          "$1::uuid AND issuance_id = $2::uuid"};
const Query kIsExpired{"iss_is_expired",
                       "SELECT expires_at IS NOT NULL AND expires_at <= app_now() FROM "
                       "issuances WHERE tenant_id = $1::uuid AND id = $2::uuid"};

const Query kCancel{
    "iss_cancel",
    "WITH old AS (SELECT id, state FROM issuances WHERE tenant_id = $1::uuid AND id = $2::uuid "
    "AND state IN ('reserved', 'issued') FOR UPDATE) "
    "UPDATE issuances i SET state = 'cancelled', cancelled_at = app_now(), cancel_reason = $3, "
    "updated_at = now() FROM old WHERE i.id = old.id "
    "RETURNING old.state, coalesce(i.budget_id::text, ''), i.cost_minor, coalesce(i.points, 0) - "
    "coalesce((SELECT -sum(r.points) FROM points_ledger r WHERE r.tenant_id = i.tenant_id AND "
    "r.customer_id = i.customer_id AND r.issuance_id = i.id AND r.kind = 'refund'), 0), "
    "i.customer_id::text, i.reward_id::text"};
const Query kReturnStock{"iss_return_stock",
                         "UPDATE rewards SET stock = stock + 1 WHERE tenant_id = $1::uuid AND "
                         "id = $2::uuid AND type = 'physical' AND stock IS NOT NULL"};

// The predicate of the issuances_expiry index (migrations/0040): not yet redeemed, cancelled or
// expired.
#define LOYALTY_OPEN "redeemed_at IS NULL AND cancelled_at IS NULL AND expired_at IS NULL"
const Query kExpireDue{
    "iss_expire_due",
    "WITH due AS (SELECT id FROM issuances WHERE tenant_id = $1::uuid AND state = 'issued' AND "
    "expires_at <= app_now() AND " LOYALTY_OPEN
    " ORDER BY expires_at LIMIT 500 FOR UPDATE SKIP LOCKED) "
    "UPDATE issuances i SET state = 'expired', expired_at = app_now(), updated_at = now() FROM "
    "due WHERE i.id = due.id RETURNING i.id::text, coalesce(i.budget_id::text, ''), "
    "i.cost_minor, i.customer_id::text, i.reward_id::text, coalesce(i.points, 0)"};
const Query kCountDue{"iss_count_due",
                      "SELECT count(*) FROM issuances WHERE tenant_id = $1::uuid AND state = "
                      "'issued' AND expires_at <= app_now() AND " LOYALTY_OPEN};
// Before they expire (loyaltyctl expire --warn-days): the open rewards that expire within $2
// days, each warned once, and a notice to each consenting customer. Points rewards are warned
// about by their points entries below.
const Query kWarnRewards{"iss_warn_rewards", R"sql(
WITH due AS (
  SELECT i.id FROM issuances i JOIN rewards r ON r.tenant_id = i.tenant_id AND r.id = i.reward_id
   WHERE i.tenant_id = $1::uuid AND i.state = 'issued' AND r.type <> 'points'
     AND i.expires_at > app_now() AND i.expires_at <= app_now() + make_interval(days => $2)
     AND i.expiry_notice_at IS NULL AND )sql" LOYALTY_OPEN R"sql(
   ORDER BY i.expires_at LIMIT 500 FOR UPDATE OF i SKIP LOCKED),
warned AS (
  UPDATE issuances i SET expiry_notice_at = now() FROM due WHERE i.id = due.id
  RETURNING i.id, i.customer_id, i.reward_id, i.expires_at),
noticed AS (
  INSERT INTO notifications (tenant_id, customer_id, channel, template, payload)
  SELECT c.tenant_id, c.id, 'whatsapp', 'reward_expiring',
         jsonb_build_object('issuance_id', w.id, 'reward_name', r.name, 'expires_at', w.expires_at)
    FROM warned w
    JOIN rewards r ON r.tenant_id = $1::uuid AND r.id = w.reward_id
    JOIN customers c ON c.tenant_id = $1::uuid AND c.id = w.customer_id
   WHERE c.phone IS NOT NULL AND c.status = 'active' AND c.consent_at IS NOT NULL
  RETURNING 1)
SELECT (SELECT count(*) FROM warned), (SELECT count(*) FROM noticed))sql"};
const Query kCountWarnRewards{"iss_count_warn_rewards", R"sql(
SELECT count(*) FROM issuances i JOIN rewards r ON r.tenant_id = i.tenant_id AND r.id = i.reward_id
 WHERE i.tenant_id = $1::uuid AND i.state = 'issued' AND r.type <> 'points'
   AND i.expires_at > app_now() AND i.expires_at <= app_now() + make_interval(days => $2)
   AND i.expiry_notice_at IS NULL AND )sql" LOYALTY_OPEN};

#undef LOYALTY_OPEN

Error invalid_transition(const std::string& action, const std::string& state) {
  return Error(ErrorCode::conflict, "invalid-transition",
               "cannot " + action + " an issuance that is " + state)
      .extend("state", state);
}

nlohmann::json event_payload(const Issuance& i) {
  nlohmann::json p = {{"issuance_id", i.id},          {"customer_id", i.customer_id},
                      {"reward_id", i.reward_id},     {"reward_name", i.reward_name},
                      {"reward_type", i.reward_type}, {"state", i.state}};
  if (!i.event_id.empty()) p["event_id"] = i.event_id;
  if (!i.expires_at.empty()) p["expires_at"] = i.expires_at;
  if (i.points > 0) p["points"] = i.points;
  return p;
}

constexpr int kMaxPinAttempts = 5;

/// What the redeeming UPDATE compares: the PIN salted with its issuance id.
std::string pin_hash(const std::string& issuance_id, const std::string& pin) {
  return crypto::sha256_hex(issuance_id + ":" + pin);
}

/// The outcome of a redemption attempt. A wrong PIN is not thrown inside the transaction: its
/// attempt counter must commit, so the caller throws `refused` after the commit.
struct Redemption {
  std::optional<Issuance> issuance;
  std::optional<Error> refused;
};

/// Redeems inside a transaction; the issuance must exist.
Redemption redeem_in(db::Tx& tx, const std::string& tenant_id, const std::string& id,
                     const std::optional<std::string>& code, const std::optional<std::string>& pin,
                     const Actor& actor) {
  Issuance before = load_in(tx, tenant_id, id);
  if (before.pin_required && before.state == "issued") {
    if (!pin) {
      throw Error(ErrorCode::invalid, "pin-required",
                  "this reward is redeemed with the one-time PIN sent to the customer");
    }
    if (before.pin_attempts >= kMaxPinAttempts) {
      throw Error(ErrorCode::conflict, "pin-locked",
                  "too many wrong PINs: this reward can no longer be redeemed by PIN");
    }
  }
  std::optional<std::string> hashed;
  if (pin) hashed = pin_hash(id, *pin);
  auto done = tx.exec(kRedeem, tenant_id, id, code, hashed);
  if (done.empty()) {
    if (before.reward_type == "points") {
      throw Error(ErrorCode::conflict, "not-redeemable",
                  "points are credited to the customer, not redeemed");
    }
    // Read the state again: a concurrent redemption may have won since `before` was read.
    Issuance now = load_in(tx, tenant_id, id);
    if (now.state != "issued") throw invalid_transition("redeem", now.state);
    if (tx.exec1(kIsExpired, tenant_id, id)[0].as<bool>()) {
      throw Error(ErrorCode::conflict, "issuance-expired", "the reward has expired");
    }
    if (code && *code != now.code) {
      throw Error(ErrorCode::invalid, "code-mismatch", "the code does not match this reward");
    }
    if (hashed && tx.exec1(kPinExpired, tenant_id, id, *hashed)[0].as<int>() > 0) {
      throw Error(ErrorCode::conflict, "pin-expired",
                  "this PIN has expired: the customer can ask for a new one");
    }
    auto counted = tx.exec(kWrongPin, tenant_id, id, hashed.value_or(""));
    int used = counted.empty() ? kMaxPinAttempts : counted[0][0].as<int>();
    if (used >= kMaxPinAttempts) {
      return {std::nullopt, Error(ErrorCode::conflict, "pin-locked",
                                  "too many wrong PINs: this reward can no longer be redeemed "
                                  "by PIN")};
    }
    return {std::nullopt, Error(ErrorCode::invalid, "pin-mismatch", "the PIN is not right")
                              .extend("attempts_left", std::to_string(kMaxPinAttempts - used))};
  }
  if (!before.budget_id.empty()) {
    budgets::spend(tx, tenant_id, before.budget_id, before.cost_minor, id, actor);
  }
  tx.exec(kCodeRedeemed, tenant_id, id);
  Issuance after = load_in(tx, tenant_id, id);
  tx.exec(kOutbox, tenant_id, "reward.redeemed", event_payload(after).dump());
  tx.exec(kNotifyRedeemed, tenant_id, after.customer_id, event_payload(after).dump());
  audit::record(tx, tenant_id, actor, "issuance.redeem", "issuance", id, {{"state", before.state}},
                {{"state", after.state}});
  return {after, std::nullopt};
}

/// The issuance, or the refusal thrown now that its transaction has committed.
Issuance settle(Redemption r) {
  if (r.refused) throw *r.refused;
  return *r.issuance;
}

/// Runs a redemption attempt and counts its outcome: "redeemed", or the problem type refusing it.
template <typename Fn>
Issuance counted_redemption(Fn&& attempt) {
  auto& c = metrics::counters();
  try {
    Issuance redeemed = attempt();
    c.redemptions.add("redeemed");
    c.issuances.add(metrics::IssuanceTransition::redeemed);
    return redeemed;
  } catch (const Error& e) {
    c.redemptions.add(e.type());
    throw;
  }
}

void check_pin_format(const std::optional<std::string>& pin) {
  if (pin && (pin->empty() || pin->size() > 12 ||
              pin->find_first_not_of("0123456789") != std::string::npos)) {
    throw_invalid("the PIN is not valid", {{"/pin", "must be the digits the customer received"}});
  }
}

}  // namespace

Issuance row_to_issuance(const pqxx::row& r) {
  Issuance i;
  i.id = r[0].as<std::string>();
  i.customer_id = r[1].as<std::string>();
  i.event_id = r[2].as<std::string>();
  i.rule_id = r[3].as<std::string>();
  i.reward_id = r[4].as<std::string>();
  i.reward_name = r[5].as<std::string>();
  i.reward_type = r[6].as<std::string>();
  i.budget_id = r[7].as<std::string>();
  i.state = r[8].as<std::string>();
  i.cost_minor = r[9].as<long long>();
  i.currency = r[10].as<std::string>();
  i.code = r[11].as<std::string>();
  i.points = r[12].as<long long>();
  i.expires_at = r[13].as<std::string>();
  i.issued_at = r[14].as<std::string>();
  i.redeemed_at = r[15].as<std::string>();
  i.cancelled_at = r[16].as<std::string>();
  i.expired_at = r[17].as<std::string>();
  i.created_at = r[18].as<std::string>();
  i.pin_required = r[19].as<bool>();
  i.pin_attempts = r[20].as<int>();
  return i;
}

Issuance load_in(db::Tx& tx, const std::string& tenant_id, const std::string& id) {
  auto rows = tx.exec(kGet, tenant_id, id);
  if (rows.empty()) throw_not_found("issuance");
  return row_to_issuance(rows[0]);
}

std::map<std::string, std::vector<Issuance>> load_for_events(db::Tx& tx,
                                                             const std::string& tenant_id,
                                                             const std::vector<std::string>& ids) {
  std::map<std::string, std::vector<Issuance>> out;
  if (ids.empty()) return out;
  for (const auto& r : tx.exec(kForEvents, tenant_id, db::array_literal(ids))) {
    Issuance i = row_to_issuance(r);
    out[i.event_id].push_back(std::move(i));
  }
  return out;
}

std::string mask_code(std::string_view code) {
  constexpr std::size_t kShown = 4;
  constexpr std::size_t kShownFrom = 8;  // a shorter code would give away half of itself or more
  const std::size_t shown = code.size() >= kShownFrom ? kShown : 0;
  return std::string(code.size() - shown, '*') + std::string(code.substr(code.size() - shown));
}

nlohmann::json to_json(const Issuance& i, CodeView view) {
  auto opt = [](const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); };
  const std::string code = view == CodeView::masked && !i.code.empty() ? mask_code(i.code) : i.code;
  nlohmann::json j = {
      {"id", i.id},
      {"customer_id", i.customer_id},
      {"event_id", opt(i.event_id)},
      {"rule_id", opt(i.rule_id)},
      {"reward", {{"id", i.reward_id}, {"name", i.reward_name}, {"type", i.reward_type}}},
      {"budget_id", opt(i.budget_id)},
      {"state", i.state},
      {"cost", {{"amount", format_amount(i.cost_minor)}, {"currency", i.currency}}},
      {"code", opt(code)},
      {"points", i.points > 0 ? nlohmann::json(i.points) : nlohmann::json()},
      {"expires_at", opt(i.expires_at)},
      {"issued_at", opt(i.issued_at)},
      {"redeemed_at", opt(i.redeemed_at)},
      {"cancelled_at", opt(i.cancelled_at)},
      {"expired_at", opt(i.expired_at)},
      {"created_at", i.created_at},
      {"pin_required", i.pin_required}};
  return j;
}

Issuance get_issuance(db::Database& database, const std::string& tenant_id, const std::string& id) {
  if (!is_uuid(id)) throw_not_found("issuance");
  return db::with_tenant(database, tenant_id,
                         [&](db::Tx& tx) { return load_in(tx, tenant_id, id); });
}

Page<Issuance> list_issuances(db::Database& database, const std::string& tenant_id,
                              const IssuanceFilter& filter, const PageRequest& page) {
  static const std::vector<std::string> kStates = {"reserved", "issued", "redeemed", "cancelled",
                                                   "expired"};
  std::vector<FieldError> errors;
  if (!filter.state.empty() &&
      std::find(kStates.begin(), kStates.end(), filter.state) == kStates.end()) {
    errors.push_back({"/state", "must be reserved, issued, redeemed, cancelled or expired"});
  }
  for (auto [name, value] :
       {std::pair{"/customer_id", &filter.customer_id}, std::pair{"/event_id", &filter.event_id},
        std::pair{"/reward_id", &filter.reward_id}}) {
    if (!value->empty() && !is_uuid(*value)) errors.push_back({name, "must be a uuid"});
  }
  if (!errors.empty()) throw_invalid("the filters are not valid", errors);
  auto after = decode_keyed_cursor(page.cursor);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto rows = tx.exec(kList, tenant_id, filter.customer_id, filter.state, filter.event_id,
                        filter.reward_id, after.key,
                        after.id.empty() ? std::optional<std::string>() : after.id, page.limit + 1);
    return fill_page<Issuance>(rows, page.limit, row_to_issuance, [](const Issuance& i) {
      return CursorPosition{i.created_at, i.id};
    });
  });
}

Issuance redeem(db::Database& database, const std::string& tenant_id, const std::string& id,
                const std::optional<std::string>& code, const std::optional<std::string>& pin,
                const Actor& actor) {
  return counted_redemption([&] {
    if (!is_uuid(id)) throw_not_found("issuance");
    check_pin_format(pin);
    return settle(db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
      return redeem_in(tx, tenant_id, id, code, pin, actor);
    }));
  });
}

Issuance redeem_by_code(db::Database& database, const std::string& tenant_id,
                        const std::string& code, const std::optional<std::string>& pin,
                        const Actor& actor) {
  return counted_redemption([&] {
    if (code.empty() || code.size() > 64) {
      throw Error(ErrorCode::not_found, "unknown-code", "no reward has this code");
    }
    check_pin_format(pin);
    return settle(db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
      auto rows = tx.exec(kByCode, tenant_id, code);
      if (rows.empty())
        throw Error(ErrorCode::not_found, "unknown-code", "no reward has this code");
      Issuance found = row_to_issuance(rows[0]);
      try {
        return redeem_in(tx, tenant_id, found.id, code, pin, actor);
      } catch (const Error& e) {
        if (e.type() == "issuance-expired") {
          throw Error(ErrorCode::conflict, "code-expired", "this code has expired");
        }
        if (e.type() == "invalid-transition") {
          std::string state = load_in(tx, tenant_id, found.id).state;
          if (state == "redeemed") {
            throw Error(ErrorCode::conflict, "code-already-redeemed",
                        "this code was already redeemed");
          }
          if (state == "expired")
            throw Error(ErrorCode::conflict, "code-expired", "this code has expired");
          throw Error(ErrorCode::conflict, "code-not-redeemable",
                      "this code cannot be redeemed (the reward is " + state + ")")
              .extend("state", state);
        }
        throw;
      }
    }));
  });
}

Issuance cancel_in(db::Tx& tx, const std::string& tenant_id, const std::string& id,
                   const std::string& reason, const Actor& actor) {
  Issuance before = load_in(tx, tenant_id, id);
  auto rows = tx.exec(kCancel, tenant_id, id, reason);
  if (rows.empty()) throw invalid_transition("cancel", before.state);
  std::string old_state = rows[0][0].as<std::string>();
  std::string budget = rows[0][1].as<std::string>();
  long long cost = rows[0][2].as<long long>();
  long long held = rows[0][3].as<long long>();
  const bool take_back = old_state == "issued" && held > 0;
  // The customer before the budget: the event pipeline's lock order.
  if (take_back) points::lock_customers(tx, tenant_id, {before.customer_id});
  if (!budget.empty()) {
    budgets::release(
        tx, tenant_id, budget, cost, id,
        old_state == "reserved" ? budgets::ReleaseFrom::reserved : budgets::ReleaseFrom::utilized,
        actor);
  }
  if (take_back) {
    auto cause = points::taking_back(tx, tenant_id, id, "cancel", "cancelled: " + reason);
    points::debit(tx, tenant_id, before.customer_id, held, points::Shortfall::partial,
                  points::Lots::held, cause, actor);
  }
  tx.exec(kReturnStock, tenant_id, before.reward_id);
  Issuance after = load_in(tx, tenant_id, id);
  tx.exec(kOutbox, tenant_id, "reward.cancelled", event_payload(after).dump());
  audit::record(tx, tenant_id, actor, "issuance.cancel", "issuance", id, {{"state", old_state}},
                {{"state", "cancelled"}, {"reason", reason}});
  return after;
}

std::string fresh_pin(db::Database& database, const std::string& tenant_id,
                      const std::string& customer_id, const std::string& issuance_id,
                      std::chrono::seconds validity, const Actor& actor) {
  if (!is_uuid(issuance_id) || !is_uuid(customer_id)) throw_not_found("issuance");
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    std::string pin = crypto::random_string(6, "0123456789");
    if (tx.exec(kFreshPin, tenant_id, issuance_id, customer_id, pin_hash(issuance_id, pin),
                static_cast<int>(validity.count()))
            .empty())
      throw_not_found("issuance");
    audit::record(tx, tenant_id, actor, "issuance.fresh_pin", "issuance", issuance_id, nullptr,
                  {{"valid_seconds", validity.count()}});
    return pin;
  });
}

Issuance cancel(db::Database& database, const std::string& tenant_id, const std::string& id,
                const std::string& reason, const Actor& actor) {
  if (!is_uuid(id)) throw_not_found("issuance");
  auto cancelled = db::with_tenant(
      database, tenant_id, [&](db::Tx& tx) { return cancel_in(tx, tenant_id, id, reason, actor); });
  metrics::counters().issuances.add(metrics::IssuanceTransition::cancelled);
  return cancelled;
}

ExpiryReport expire_due(db::Database& database, const std::string& tenant_id, bool dry_run,
                        int warn_days) {
  if (warn_days < 0 || warn_days > kMaxWarnDays) {
    throw Error(
        ErrorCode::invalid, "invalid-warn-days",
        "the warning comes 0 to " + std::to_string(kMaxWarnDays) + " days before expiry (0: none)");
  }
  ExpiryReport report;
  report.dry_run = dry_run;
  if (dry_run) {
    return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
      report.issuances_expired = tx.exec1(kCountDue, tenant_id)[0].as<long long>();
      auto due = points::count_due(tx, tenant_id);
      report.points_entries = due.lots;
      report.points_expired = due.points;
      if (warn_days > 0) {
        report.rewards_warned =
            tx.exec1(kCountWarnRewards, tenant_id, warn_days)[0].as<long long>();
        report.points_warned = points::count_warn(tx, tenant_id, warn_days);
      }
      return report;
    });
  }
  // Batches of 500, each its own transaction, until nothing is due.
  for (;;) {
    long long n = db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
      auto rows = tx.exec(kExpireDue, tenant_id);
      for (const auto& r : rows) {
        std::string id = r[0].as<std::string>(), budget = r[1].as<std::string>();
        if (!budget.empty()) {
          budgets::release(tx, tenant_id, budget, r[2].as<long long>(), id,
                           budgets::ReleaseFrom::utilized, Actor::system());
        }
        tx.exec(kOutbox, tenant_id, "reward.expired",
                event_payload(load_in(tx, tenant_id, id)).dump());
      }
      return static_cast<long long>(rows.size());
    });
    report.issuances_expired += n;
    if (n == 0) break;
  }
  for (bool more = true; more;) {
    auto expired = db::with_tenant(
        database, tenant_id, [&](db::Tx& tx) { return points::expire_batch(tx, tenant_id, more); });
    report.points_entries += expired.lots;
    report.points_expired = checked_add(report.points_expired, expired.points);
  }
  // The warnings last: what expired above is not warned about. Batches until none is marked.
  auto warn = [&](const Query& q, long long& notices) {
    for (long long marked = 1; marked > 0;) {
      auto r = db::with_tenant(database, tenant_id,
                               [&](db::Tx& tx) { return tx.exec1(q, tenant_id, warn_days); });
      marked = r[0].as<long long>();
      notices += r[1].as<long long>();
    }
  };
  if (warn_days > 0) {
    warn(kWarnRewards, report.rewards_warned);
    for (long long marked = 1; marked > 0;) {
      auto [lots, notices] = db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
        return points::warn_batch(tx, tenant_id, warn_days);
      });
      marked = lots;
      report.points_warned += notices;
    }
  }
  return report;
}

namespace {

/// What follows reserved -> issued for the issuances of `rows` (kIssue's columns), `issued` as
/// they are now: points credited, `reward.issued` outbox rows and the customers' notifications
/// (with their codes and fresh PINs), budgets charged last.
void settle_issued(db::Tx& tx, const std::string& tenant_id, const pqxx::result& rows,
                   const std::vector<Issuance>& issued) {
  std::vector<budgets::Charge> charges;
  std::vector<std::string> points_customers, points_issuances;
  std::vector<std::int64_t> earned;
  for (const auto& r : rows) {
    std::string id = r[0].as<std::string>(), budget = r[2].as<std::string>();
    if (!budget.empty()) charges.push_back({budget, r[3].as<long long>(), id});
    if (r[4].as<long long>() > 0) {
      points_customers.push_back(r[1].as<std::string>());
      points_issuances.push_back(id);
      earned.push_back(r[4].as<long long>());
    }
  }
  points::credit_issued(tx, tenant_id, points_customers, earned, points_issuances);
  tiers::after_points_earned(tx, tenant_id, points_customers);
  nlohmann::json outbox = nlohmann::json::array(), messages = nlohmann::json::array();
  for (const auto& issuance : issued) {
    auto payload = event_payload(issuance);
    outbox.push_back(payload);
    // The code and the PIN travel only in the customer's own notification, never in webhooks
    // or logs; the database keeps the PIN's hash.
    nlohmann::json message = payload;
    if (!issuance.code.empty()) message["code"] = issuance.code;
    if (issuance.pin_required) {
      std::string pin = crypto::random_string(6, "0123456789");
      tx.exec(kSetPin, tenant_id, issuance.id, pin_hash(issuance.id, pin));
      message["pin"] = pin;
    }
    messages.push_back(std::move(message));
  }
  tx.exec(kOutboxAll, tenant_id, "reward.issued", outbox.dump());
  tx.exec(kNotify, tenant_id, "reward_issued", messages.dump());
  // Budgets last and in id order, after the customer rows: the event pipeline's lock order,
  // so the two never deadlock on a customer and a budget.
  budgets::charge_all(tx, tenant_id, charges, Actor::system());
  tx.after_commit([n = rows.size()] {
    metrics::counters().issuances.add(metrics::IssuanceTransition::issued, n);
  });
}

}  // namespace

int issue_events(db::Tx& tx, const std::string& tenant_id,
                 const std::vector<std::string>& event_ids) {
  if (event_ids.empty()) return 0;
  std::string events = db::array_literal(event_ids);
  // The customers first, in id order (the event pipeline locks its customer before anything
  // else): two workers, or a worker and a refund, then never wait on each other in a circle.
  tx.exec(kLockIssueCustomers, tenant_id, events);
  auto rows = tx.exec(kIssue, tenant_id, events);
  if (rows.empty()) return 0;
  std::set<std::string> issued_ids;
  for (const auto& r : rows) issued_ids.insert(r[0].as<std::string>());
  std::vector<Issuance> issued;
  for (const auto& [event, of_event] : load_for_events(tx, tenant_id, event_ids)) {
    for (const auto& issuance : of_event) {
      if (issued_ids.count(issuance.id)) issued.push_back(issuance);
    }
  }
  settle_issued(tx, tenant_id, rows, issued);
  return static_cast<int>(rows.size());
}

Issuance issue_in(db::Tx& tx, const std::string& tenant_id, const std::string& id) {
  auto rows = tx.exec(kIssueOne, tenant_id, id);
  if (rows.empty()) throw invalid_transition("issue", load_in(tx, tenant_id, id).state);
  Issuance issued = load_in(tx, tenant_id, id);
  settle_issued(tx, tenant_id, rows, {issued});
  return issued;
}

int issue_event(db::Database& database, const std::string& tenant_id, const std::string& event_id) {
  return db::with_tenant(database, tenant_id,
                         [&](db::Tx& tx) { return issue_events(tx, tenant_id, {event_id}); });
}

}  // namespace loyalty::issuances
