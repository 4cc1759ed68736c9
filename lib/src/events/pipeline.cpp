#include "audit/audit.hpp"
#include "budgets/ledger_ops.hpp"
#include "db/tx.hpp"
#include "events/cache.hpp"
#include "events/caps.hpp"
#include "events/customer_view.hpp"
#include "events/history.hpp"
#include "events/request.hpp"
#include "issuances/internal.hpp"
#include "jobs/queue.hpp"

#include <spdlog/spdlog.h>
#include <loyalty/core/crypto.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/issuances/issuances.hpp>
#include <loyalty/metrics/counters.hpp>

#include <algorithm>
#include <mutex>
#include <regex>
#include <unordered_map>

namespace loyalty::events {

namespace {

using db::Query;

const Query kEnrol{"ev_enrol",
                   "INSERT INTO customers (tenant_id, phone, external_ref) VALUES ($1::uuid, $2, "
                   "$3) ON CONFLICT DO NOTHING RETURNING id::text"};
const Query kEnrolledOutbox{"ev_enrolled_outbox",
                            "INSERT INTO outbox (tenant_id, event_type, payload) VALUES "
                            "($1::uuid, 'customer.enrolled', $2::jsonb)"};

// The customer locked and, when found, the event inserted under its idempotency key, in one
// round trip: kCustomerColumns, then the new event's id (null when the key was used before).
std::string lock_and_insert_sql(const char* where) {
  return std::string("WITH c (c0, c1, c2, c3, c4, c5, c6, c7, c8, cid) AS (SELECT ") +
         kCustomerColumns + ", id FROM customers WHERE tenant_id = $1::uuid AND " + where +
         " FOR UPDATE), e AS (INSERT INTO events (tenant_id, customer_id, type, occurred_at, data, "
         "amount_minor, currency, idempotency_key, request_hash, status, original_event_id) "
         "SELECT $1::uuid, c.cid, $5::text, coalesce($4::timestamptz, now()), $6::jsonb, "
         "$7::bigint, $8::text, $9::text, $10::text, 'processing', $11::uuid FROM c "
         "ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id) "
         "SELECT c0, c1, c2, c3, c4, c5, c6, c7, c8, (SELECT id::text FROM e) FROM c";
}
// By its primary key: the id was checked to be a uuid (id::text = $2 could use no index and read
// all the tenant's customers at each event).
const std::string kLockInsertByIdSql = lock_and_insert_sql("id = $2::uuid");
const Query kLockInsertById{"ev_lock_insert_id", kLockInsertByIdSql.c_str()};
const std::string kLockInsertByPhoneSql = lock_and_insert_sql("phone = $2");
const Query kLockInsertByPhone{"ev_lock_insert_phone", kLockInsertByPhoneSql.c_str()};
const std::string kLockInsertByRefSql = lock_and_insert_sql("external_ref = $2");
const Query kLockInsertByRef{"ev_lock_insert_ref", kLockInsertByRefSql.c_str()};
const Query kExisting{"ev_existing",
                      "SELECT request_hash, status, coalesce(response_status, 0), "
                      "coalesce(response::text, '') FROM events WHERE tenant_id = $1::uuid AND "
                      "idempotency_key = $2"};
// The answer stored for replays, and (when $5 names a job kind) the job that issues the event's
// rewards, in one round trip.
const Query kFinish{
    "ev_finish",
    "WITH job AS (INSERT INTO jobs (tenant_id, kind, payload) SELECT $1::uuid, $5::text, "
    "jsonb_build_object('event_id', $2::text) WHERE $5::text IS NOT NULL) "
    "UPDATE events SET status = 'processed', response_status = $3, response = "
    "$4::jsonb WHERE tenant_id = $1::uuid AND id = $2::uuid"};
const Query kOriginal{"ev_original",
                      "SELECT customer_id::text, coalesce(amount_minor, 0), type FROM events "
                      "WHERE tenant_id = $1::uuid AND id = $2::uuid"};

// The customer's own issuances from a rule: an index range of issuances_caps, however many
// the rule has given to everyone else.
const Query kCustomerCaps{
    "ev_customer_caps",
    "SELECT count(*) FILTER (WHERE created_at >= coalesce(budget_period_start($4, $5, "
    "app_now()), '-infinity')), coalesce(max(created_at) > app_now() - $6 * interval '1 second', "
    "false) FROM issuances WHERE tenant_id = $1::uuid AND rule_id = $2::uuid AND customer_id = "
    "$3::uuid AND state <> 'cancelled'"};
const Query kGlobalCount{
    "ev_global_count",
    "SELECT count(*) FROM issuances WHERE tenant_id = $1::uuid AND rule_id = $2::uuid AND state "
    "<> 'cancelled' AND created_at >= coalesce(budget_period_start($3, $4, app_now()), "
    "'-infinity')"};
const Query kGlobalLock{"ev_global_lock", "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))"};
// The issuance, with a code from the reward's pool when it is a pooled voucher (each code to
// exactly one issuance); and what the pipeline needs of the reward. The first column is null when
// nothing was inserted: the reward is gone (no row at all) or its pool is empty.
// The issuance with its reward and, for a pooled voucher, a code from the pool: the row as the API
// shows it (kIssuanceColumns), then the reward's config, whether it has stock, and whether it is
// pooled. No issuance (null id) when the pool is empty.
// The pool's codes go out in code order, read from reward_codes_available (migration 0072): with
// no order, the planner chose a sequential scan for LIMIT 1, which reads every used code first.
const std::string kInsertIssuanceSql =
    std::string(
        "WITH r AS (SELECT *, type = 'voucher' AND coalesce(config->>'source', 'pool') = 'pool' "
        "AS pooled FROM rewards WHERE tenant_id = $1::uuid AND id = $7::uuid), "
        "c AS (SELECT code FROM reward_codes WHERE tenant_id = $1::uuid AND reward_id = $7::uuid "
        "AND status = 'available' AND (SELECT pooled FROM r) ORDER BY code LIMIT 1 FOR UPDATE SKIP "
        "LOCKED), "
        "i AS (INSERT INTO issuances (tenant_id, customer_id, event_id, rule_id, reward_id, "
        "budget_id, campaign_id, cost_minor, currency, points, expires_at, code) SELECT $1::uuid, "
        "$2::uuid, $3::uuid, $4::uuid, r.id, $5::uuid, $6::uuid, r.cost_minor, r.currency, "
        "r.points, CASE WHEN r.validity_days IS NOT NULL THEN app_now() + r.validity_days * "
        "interval '1 day' ELSE r.valid_until END, (SELECT code FROM c) FROM r WHERE NOT r.pooled "
        "OR EXISTS (SELECT 1 FROM c) RETURNING *), "
        "a AS (UPDATE reward_codes x SET status = 'assigned', issuance_id = i.id, assigned_at = "
        "now() FROM i WHERE x.tenant_id = $1::uuid AND x.code = i.code AND (SELECT pooled FROM "
        "r)) SELECT ") +
    issuances::kIssuanceColumns +
    ", r.config::text, r.stock IS NOT NULL, r.pooled FROM r LEFT JOIN i ON true";
const Query kInsertIssuance{"ev_insert_issuance", kInsertIssuanceSql.c_str()};
const Query kSetCode{"ev_set_code",
                     "UPDATE issuances SET code = $3 WHERE tenant_id = $1::uuid AND id = $2::uuid"};
const Query kCodeTaken{"ev_code_taken",
                       "SELECT EXISTS (SELECT 1 FROM issuances WHERE tenant_id = $1::uuid AND "
                       "code = $2) OR EXISTS (SELECT 1 FROM reward_codes WHERE tenant_id = "
                       "$1::uuid AND code = $2)"};
const Query kTakeStock{"ev_take_stock",
                       "UPDATE rewards SET stock = stock - 1 WHERE tenant_id = $1::uuid AND id = "
                       "$2::uuid AND stock > 0 RETURNING stock"};
const Query kRefundTargets{
    "ev_refund_targets",
    "SELECT i.id::text, i.state, coalesce(i.points, 0), r.type FROM issuances i JOIN rewards r "
    "ON r.tenant_id = i.tenant_id AND r.id = i.reward_id WHERE i.tenant_id = $1::uuid AND "
    "i.event_id = $2::uuid ORDER BY i.created_at"};
const Query kPartialPoints{
    "ev_partial_points",
    "WITH c AS (SELECT points_balance FROM customers WHERE tenant_id = $1::uuid AND id = "
    "$2::uuid FOR UPDATE), d AS (UPDATE customers SET points_balance = customers.points_balance - "
    "least(c.points_balance, $3), updated_at = now() FROM c WHERE tenant_id = $1::uuid AND id = "
    "$2::uuid RETURNING least(c.points_balance, $3) AS debited) "
    "INSERT INTO points_ledger (tenant_id, customer_id, kind, points, issuance_id, event_id, "
    "reverses_id) SELECT $1::uuid, $2::uuid, 'refund', -d.debited, $4::uuid, $5::uuid, (SELECT id "
    "FROM points_ledger WHERE tenant_id = $1::uuid AND issuance_id = $4::uuid AND kind = 'earn' "
    "LIMIT 1) FROM d WHERE d.debited > 0 RETURNING -points"};

const char* kCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";  // no 0/O, 1/I/L

struct Customer : CustomerView {
  bool enrolled_now = false;
};

Customer row_to_customer(const pqxx::row& r) { return {read_customer_view(r)}; }

/// The customer, locked, and the event inserted for them: the new event's id, or nothing when
/// its idempotency key was used before. No customer when there is none.
struct LockedCustomer {
  std::optional<Customer> customer;
  std::optional<std::string> event_id;
};
LockedCustomer lock_customer_and_insert(db::Tx& tx, const std::string& tenant_id,
                                        const EventRequest& req, const std::string& tz,
                                        const std::optional<std::string>& occurred) {
  const auto& ref = req.customer;
  const Query& q = ref.id ? kLockInsertById : ref.phone ? kLockInsertByPhone : kLockInsertByRef;
  std::string key = ref.id ? *ref.id : ref.phone ? *ref.phone : ref.external_ref.value_or("");
  auto rows = tx.exec(q, tenant_id, key, tz, occurred, req.type, req.data.dump(), req.amount,
                      req.currency, req.idempotency_key, req.request_hash, req.original_event_id);
  LockedCustomer out;
  if (rows.empty()) return out;
  out.customer = row_to_customer(rows[0]);
  if (!rows[0][9].is_null()) out.event_id = rows[0][9].as<std::string>();
  return out;
}

/// Why a matching rule gave nothing, or empty when it may issue.
std::string check_caps(db::Tx& tx, const std::string& tenant_id, const rulesets::ActiveRule& rule,
                       const std::string& customer_id, const std::string& timezone) {
  const auto& caps = rule.definition.caps;
  if (!caps.per_customer && !caps.global && !caps.cooldown) return "";
  if (caps.global) tx.exec(kGlobalLock, rule.id);
  std::int64_t mine = 0;
  bool cooling = false;
  if (caps.per_customer || caps.cooldown) {
    auto row =
        tx.exec1(kCustomerCaps, tenant_id, rule.id, customer_id,
                 cap_period_sql_name(caps.per_customer), timezone, caps.cooldown.value_or(0));
    mine = row[0].as<std::int64_t>();
    cooling = row[1].as<bool>();
  }
  if (caps.per_customer && mine >= caps.per_customer->max) return "per_customer_cap";
  if (caps.global &&
      tx.exec1(kGlobalCount, tenant_id, rule.id, cap_period_sql_name(caps.global), timezone)[0]
              .as<std::int64_t>() >= caps.global->max) {
    return "global_cap";
  }
  if (caps.cooldown && *caps.cooldown > 0 && cooling) return "cooldown";
  return "";
}

/// The writes to rows that many events share — a reward's stock, a budget's counters — left
/// for the end of the event's transaction, since each locks its row until the commit.
struct SharedRowWrites {
  std::vector<std::string> stock_rewards;  ///< one item of stock taken from each
  std::vector<budgets::ReserveItem> reservations;
  bool failed = false;  ///< an issuance could not be completed and must be undone
};

/// Budgets found exhausted and rewards found out of stock in the last few seconds, in this
/// process. While one is, the events of its rules skip the deferral of shared-row writes (below),
/// which would fail at the end and run the rules a second time, and put an ERROR (SQLSTATE
/// LB001) into the server's log for every event.
class RecentlyRunOut {
 public:
  bool any(const std::vector<std::string>& ids) {
    std::lock_guard lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    for (const auto& id : ids) {
      auto found = until_.find(id);
      if (found == until_.end()) continue;
      if (found->second > now) return true;
      until_.erase(found);
    }
    return false;
  }
  void add(const std::string& id) {
    std::lock_guard lock(mutex_);
    until_[id] = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> until_;
};

RecentlyRunOut& recently_run_out() {
  static RecentlyRunOut ids;
  return ids;
}

/// Tries to issue one rule's reward; returns the issuance as the API shows it, or sets `why`.
/// With `deferred`, the stock and budget writes are not made but appended there, for the caller
/// to make at the end (should a generated code fail, it is marked failed, and the caller starts
/// again without). Without, it runs inside a savepoint, undone when stock, the pool or the
/// budget runs out.
std::optional<issuances::Issuance> issue_reward(db::Tx& tx, const std::string& tenant_id,
                                                const rulesets::ActiveRule& rule,
                                                const std::string& customer_id,
                                                const std::string& event_id, std::string& why,
                                                SharedRowWrites* deferred) {
  // Issuances are never deleted: one that cannot be completed goes with the savepoint.
  if (!deferred) tx.exec_raw("SAVEPOINT issue_reward");
  auto undo = [&](const char* reason) {
    if (!deferred) tx.exec_raw("ROLLBACK TO SAVEPOINT issue_reward");
    why = reason;
    return std::optional<issuances::Issuance>();
  };
  auto inserted = tx.exec(kInsertIssuance, tenant_id, customer_id, event_id, rule.id,
                          rule.budget_id, rule.campaign_id, rule.reward_id);
  if (inserted.empty()) return undo("reward_missing");
  if (inserted[0][0].is_null()) return undo("pool_empty");
  auto issuance = issuances::row_to_issuance(inserted[0]);
  const std::string& issuance_id = issuance.id;
  const std::string& type = issuance.reward_type;
  constexpr int extra = issuances::kIssuanceColumnCount;
  nlohmann::json config = nlohmann::json::parse(inserted[0][extra].as<std::string>());
  MinorUnits cost = issuance.cost_minor;
  const std::string& currency = issuance.currency;
  bool has_stock = type == "physical" && inserted[0][extra + 1].as<bool>();
  bool pooled = inserted[0][extra + 2].as<bool>();

  bool generate = type == "voucher" && !pooled;
  if (has_stock) {
    if (deferred)
      deferred->stock_rewards.push_back(rule.reward_id);
    else if (tx.exec(kTakeStock, tenant_id, rule.reward_id).empty()) {
      recently_run_out().add(rule.reward_id);
      return undo("out_of_stock");
    }
  }
  if (generate) {
    std::size_t length = config.value("length", 10);
    std::string prefix = config.value("prefix", "");
    for (int attempt = 0;; ++attempt) {
      std::string code = prefix + crypto::random_string(length, kCodeAlphabet);
      if (!tx.exec1(kCodeTaken, tenant_id, code)[0].as<bool>()) {
        tx.exec(kSetCode, tenant_id, issuance_id, code);
        issuance.code = code;
        break;
      }
      if (attempt > 5) {
        if (deferred) deferred->failed = true;
        return undo("code_generation_failed");
      }
    }
  }
  if (rule.budget_id && deferred) {
    deferred->reservations.push_back({*rule.budget_id, cost, currency, issuance_id});
  } else if (rule.budget_id) {
    auto reservation = budgets::reserve(tx, tenant_id, *rule.budget_id, cost, currency, issuance_id,
                                        Actor::system());
    if (reservation.status == budgets::ReserveStatus::exhausted) {
      recently_run_out().add(*rule.budget_id);
      return undo("budget_exhausted");
    }
  }
  if (!deferred) tx.exec_raw("RELEASE SAVEPOINT issue_reward");
  return issuance;
}

/// The deferred writes as one SQL statement for Tx::exec_raw_and_commit, stock then budgets, each
/// in id order (the lock order); it fails with SQLSTATE budgets::kNotReservedState when stock ran
/// out or a budget is exhausted. Empty when there is nothing to write.
std::string shared_rows_sql(db::Tx& tx, const std::string& tenant_id,
                            const SharedRowWrites& writes) {
  std::string sql;
  if (!writes.stock_rewards.empty()) {
    auto rewards = writes.stock_rewards;
    std::sort(rewards.begin(), rewards.end());
    sql = "SELECT reward_take_stock_all(" + tx.quote(tenant_id) + "::uuid, " +
          tx.quote(db::array_literal(rewards)) + "::uuid[])";
  }
  if (!writes.reservations.empty()) {
    auto reservations = writes.reservations;
    std::stable_sort(reservations.begin(), reservations.end(),
                     [](const auto& a, const auto& b) { return a.budget_id < b.budget_id; });
    if (!sql.empty()) sql += ";\n";
    sql += budgets::reserve_all_sql(tx, tenant_id, reservations);
  }
  return sql;
}

nlohmann::json refund(db::Tx& tx, const std::string& tenant_id, const EventRequest& req,
                      const std::string& customer_id, const std::string& event_id,
                      const Actor& actor) {
  auto original = tx.exec(kOriginal, tenant_id, *req.original_event_id);
  if (original.empty() || original[0][0].is_null() ||
      original[0][0].as<std::string>() != customer_id) {
    throw_invalid("the refund is not valid",
                  {{"/data/original_event_id", "not an event of this customer"}});
  }
  if (original[0][2].as<std::string>() == "refund") {
    throw_invalid("the refund is not valid",
                  {{"/data/original_event_id", "a refund cannot be refunded"}});
  }
  MinorUnits original_amount = original[0][1].as<std::int64_t>();
  bool partial = req.amount && original_amount > 0 && *req.amount < original_amount;
  nlohmann::json out = {{"original_event_id", *req.original_event_id},
                        {"partial", partial},
                        {"cancelled", nlohmann::json::array()},
                        {"kept_redeemed", nlohmann::json::array()},
                        {"points_debited", 0}};
  std::int64_t debited = 0;
  for (const auto& row : tx.exec(kRefundTargets, tenant_id, *req.original_event_id)) {
    std::string id = row[0].as<std::string>(), state = row[1].as<std::string>(),
                type = row[3].as<std::string>();
    std::int64_t points = row[2].as<std::int64_t>();
    if (state == "redeemed") {
      out["kept_redeemed"].push_back(id);
    } else if (type == "points" && state == "issued" && partial) {
      // Points are taken back in proportion to the refunded share, rounded down (exact in
      // 128 bits: points up to kMaxPoints times an amount up to kMaxAmount overflows 64).
      std::int64_t share = pro_rata(points, *req.amount, original_amount);
      if (share > 0) {
        auto d = tx.exec(kPartialPoints, tenant_id, customer_id, share, id, event_id);
        if (!d.empty()) debited = checked_add(debited, d[0][0].as<std::int64_t>());
      }
    } else if (state == "reserved" || state == "issued") {
      issuances::cancel_in(tx, tenant_id, id, "refund", actor);
      out["cancelled"].push_back(id);
    }
  }
  out["points_debited"] = debited;
  return out;
}

/// What an event did, for the counters: set by the run of the rules whose answer was stored.
struct Tally {
  std::array<std::uint64_t, metrics::kRuleEvaluationNames.size()> evaluations{};
  std::size_t reserved = 0;
  std::size_t refunded = 0;             ///< issuances a refund cancelled
  std::vector<std::string> not_issued;  ///< reasons
  /// Notes the answer about to be stored (a later run of the rules replaces it).
  void note(const nlohmann::json& response) {
    reserved = response.at("issuances").size();
    refunded = response.contains("refund") ? response.at("refund").at("cancelled").size() : 0;
    not_issued.clear();
    for (const auto& n : response.at("not_issued")) not_issued.push_back(n.value("reason", ""));
  }
};

/// Counts a processed event once its transaction has committed.
void count_processed(const std::string& type, const EventResponse& response, const Tally& tally) {
  auto& c = metrics::counters();
  using metrics::EventOutcome;
  auto outcome = response.replayed ? EventOutcome::replayed
                 : tally.reserved  ? EventOutcome::rewarded
                                   : EventOutcome::not_rewarded;
  c.events.add(type, static_cast<std::size_t>(outcome));
  if (response.replayed) return;
  for (std::size_t i = 0; i < tally.evaluations.size(); ++i) {
    if (tally.evaluations[i] > 0) {
      c.rule_evaluations.add(static_cast<metrics::RuleEvaluation>(i), tally.evaluations[i]);
    }
  }
  if (tally.reserved) c.issuances.add(metrics::IssuanceTransition::reserved, tally.reserved);
  if (tally.refunded) c.issuances.add(metrics::IssuanceTransition::refunded, tally.refunded);
  for (const auto& reason : tally.not_issued) c.rewards_not_issued.add(reason);
}

struct Processed {
  EventResponse response;
  std::string type;
  Tally tally;
};

Processed process(db::Database& database, RulesCache& cache, const std::string& tenant_id,
                  const nlohmann::json& body, const std::string& header_key, const Actor& actor) {
  auto started = std::chrono::steady_clock::now();
  EventRequest req = parse_event_request(body, header_key);
  auto rules_entry = cache.get(database, tenant_id);
  const auto& tz = rules_entry->timezone;
  std::optional<std::string> occurred;
  if (!req.occurred_at.empty()) occurred = req.occurred_at;

  auto result = db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    Processed out;
    // 1. The customer, locked so one customer's events serialize, and 2. the event under its
    //    idempotency key, in one round trip: a replay answers with the stored response.
    auto locked = lock_customer_and_insert(tx, tenant_id, req, tz, occurred);
    if (!locked.customer) {
      bool auto_enrol = rules_entry->settings.value("auto_enrol", true);
      if (!auto_enrol || req.customer.id) {
        throw Error(ErrorCode::invalid, "unknown-customer",
                    "no such customer, and this tenant does not enrol customers on the fly",
                    {{req.customer.id ? "/customer/id" : "/customer", "unknown customer"}});
      }
      auto enrolled = tx.exec(kEnrol, tenant_id, req.customer.phone, req.customer.external_ref);
      if (!enrolled.empty()) {
        tx.exec(
            kEnrolledOutbox, tenant_id,
            nlohmann::json{{"customer_id", enrolled[0][0].as<std::string>()}, {"channel", "pos"}}
                .dump());
      }
      // Enrolled now, by this event or (no row inserted) by another one meanwhile.
      locked = lock_customer_and_insert(tx, tenant_id, req, tz, occurred);
      if (!locked.customer) throw Error(ErrorCode::unavailable, "contention", "try again");
      locked.customer->enrolled_now = !enrolled.empty();
    }
    auto& customer = locked.customer;

    if (!locked.event_id) {
      auto existing = tx.exec1(kExisting, tenant_id, req.idempotency_key);
      if (existing[0].as<std::string>() != req.request_hash) {
        throw Error(ErrorCode::invalid, "idempotency-key-reused",
                    "this idempotency key was used for a different event",
                    {{"/idempotency_key", "already used with another body"}});
      }
      out.response.status = existing[2].as<int>();
      out.response.body = nlohmann::json::parse(existing[3].as<std::string>()).dump();
      out.response.replayed = true;
      return out;
    }
    const std::string event_id = *locked.event_id;
    bool queue_job = false;  // rewards were reserved: the worker issues them
    auto finish = [&](const nlohmann::json& response) {
      out.response.status = 201;
      out.response.body = response.dump();
      out.tally.note(response);
      tx.exec(kFinish, tenant_id, event_id, out.response.status, out.response.body,
              queue_job ? std::optional<std::string>(jobs::kIssueEvent) : std::nullopt);
    };

    nlohmann::json response = {{"event",
                                {{"id", event_id},
                                 {"type", req.type},
                                 {"customer_id", customer->id},
                                 {"occurred_at", customer->occurred_utc},
                                 {"idempotency_key", req.idempotency_key},
                                 {"data", req.data}}},
                               {"customer",
                                {{"id", customer->id},
                                 {"enrolled", customer->enrolled_now},
                                 {"status", customer->status}}},
                               {"issuances", nlohmann::json::array()},
                               {"not_issued", nlohmann::json::array()}};

    if (req.type == "refund") {
      response["refund"] = refund(tx, tenant_id, req, customer->id, event_id, actor);
    } else if (customer->status != "active") {
      response["not_issued"].push_back({{"reason", "customer_not_active"}});
    } else if (!rules_entry->active) {
      response["not_issued"].push_back({{"reason", "tenant_suspended"}});
    } else {
      // 3. Rules in priority order against data prepared once for the event.
      const auto& rules = *rules_entry->rules;
      const auto& compiled = *rules_entry->compiled;
      auto data = compiled.prepare(rule_data(req, customer->view));
      DbHistory history(tx, tenant_id, customer->id, event_id, customer->occurred_utc, tz,
                        customer->view, customer->local_time);
      thread_local rules::Evaluator evaluator;
      auto apply_rules = [&](SharedRowWrites* deferred) {
        out.tally.evaluations = {};
        response["issuances"] = nlohmann::json::array();
        response["not_issued"] = nlohmann::json::array();
        bool issued = false;
        for (std::size_t i = 0; i < rules.size(); ++i) {
          const auto& rule = rules[i];
          if (rule.definition.event_type != req.type) continue;
          bool matched = evaluator.matches(compiled[i], data, &history);
          ++out.tally.evaluations[static_cast<std::size_t>(
              evaluator.outcome() != rules::Outcome::ok ? metrics::RuleEvaluation::error
              : matched                                 ? metrics::RuleEvaluation::matched
                                                        : metrics::RuleEvaluation::not_matched)];
          if (!matched) continue;
          nlohmann::json rule_ref = {{"rule_id", rule.id}, {"rule", rule.definition.name}};
          std::string why = check_caps(tx, tenant_id, rule, customer->id, tz);
          std::optional<issuances::Issuance> issuance;
          if (why.empty())
            issuance = issue_reward(tx, tenant_id, rule, customer->id, event_id, why, deferred);
          if (issuance) {
            // As the API shows it, in the order of the rules that gave them.
            response["issuances"].push_back(issuances::to_json(*issuance));
            issued = true;
          } else {
            rule_ref["reason"] = why;
            response["not_issued"].push_back(rule_ref);
          }
          if (rule.definition.stop_processing) break;
        }
        queue_job = issued;
      };
      // The rewards and budgets of the rules for this type of event: with none, or one that ran
      // out a moment ago (the deferral would fail), the rules run writing as they issue.
      std::vector<std::string> shared_rows;
      for (const auto& rule : rules) {
        if (rule.definition.event_type != req.type) continue;
        shared_rows.push_back(rule.reward_id);
        if (rule.budget_id) shared_rows.push_back(*rule.budget_id);
      }
      if (shared_rows.empty() || recently_run_out().any(shared_rows)) {
        apply_rules(nullptr);
      } else {
        // 4. Stock and budgets last. Taking stock or reserving from a budget locks that row until
        //    the commit, so every rewarding event of the tenant queues on it: writing them after
        //    everything else, just before the commit, holds the locks for the fewest round trips
        //    (and in one order, stock then budgets, each by id, two events cannot deadlock).
        //    Should stock run out or a budget be exhausted, the rules run again from the
        //    savepoint, writing as they issue (a lower-priority reward may then still be given),
        //    exactly as without the deferral.
        //    The stock and the reservations travel with the COMMIT, in one round trip: their
        //    rows are locked for no round trip more.
        SharedRowWrites writes;
        tx.exec_raw("SAVEPOINT apply_rules");
        apply_rules(&writes);
        finish(response);
        if (!writes.failed) {
          auto sql = shared_rows_sql(tx, tenant_id, writes);
          if (sql.empty()) return out;
          try {
            tx.exec_raw_and_commit(sql);
            return out;
          } catch (const pqxx::sql_error& e) {
            if (e.sqlstate() != budgets::kNotReservedState) throw;
          }
        }
        tx.exec_raw("ROLLBACK TO SAVEPOINT apply_rules");
        apply_rules(nullptr);
        finish(response);
        return out;
      }
    }
    finish(response);
    return out;
  });

  auto elapsed =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);
  spdlog::debug("event.processed tenant={} replayed={} duration_ms={:.2f}", tenant_id,
                result.response.replayed, elapsed.count());
  result.type = req.type;
  return result;
}

}  // namespace

EventResponse process_event(db::Database& database, RulesCache& cache, const std::string& tenant_id,
                            const nlohmann::json& body, const std::string& header_key,
                            const Actor& actor) {
  try {
    auto processed = process(database, cache, tenant_id, body, header_key, actor);
    count_processed(processed.type, processed.response, processed.tally);
    return std::move(processed.response);
  } catch (const Error& e) {
    metrics::counters().events_rejected.add(e.type());
    throw;
  } catch (...) {
    metrics::counters().events_rejected.add("internal");
    throw;
  }
}

}  // namespace loyalty::events
