// The hot path: a POS event in, its answer out, in one transaction, as eight stages that each
// do one thing and hand an EventContext to the next. Each table is written by the module that
// owns it; the pipeline only calls them.
//
//   1. authenticate and parse   the daemon authenticates (daemon/loyaltyd); parse_request here
//                               (events/request.cpp), the tenant's compiled rules from the cache
//                               (events/cache.cpp)
//   2. idempotency claim        the event row under its key; a replay answers with the stored
//   3. resolve and lock the     answer — one statement with stage 3 (the event row names its
//      customer                 customer): claim_key_and_lock_customer below; enrolment on the
//                               fly by customers/enrol.hpp
//   4. evaluate                 events/stages.cpp, evaluate_rules (history: events/history.cpp)
//   5. caps and cooldowns       events/stages.cpp, check_caps (counts: issuances/reserve.hpp)
//   6. reserve budget, stock    events/stages.cpp, Reservations: the rewards' terms
//      and codes                (rewards/issuing.hpp) and the budgets' room
//                               (budgets/ledger_ops.hpp), read, then taken rule by rule
//   7. write issuances, ledger, issuances/reserve.hpp creates each issuance with its pool code;
//      outbox and job           the job (jobs/queue.hpp), the stock (rewards/issuing.hpp) and
//                               the budget reservations with their ledger movements and
//                               threshold outbox rows (budgets/ledger_ops.hpp) go with the COMMIT
//   8. answer                   the answer stored for replays, sent with the COMMIT; the caller
//                               gets it once the transaction has committed
//
// A refund runs events/refund.cpp instead of stages 4 to 7. `rules simulate` (simulate.cpp)
// runs stages 4 to 7 with a writer that writes nothing.
//
// Why the budget and stock writes wait for the COMMIT: every rewarding event of a tenant locks
// its budget row until it commits, so the row is the queue they all wait in; sent with the
// COMMIT, in one round trip, it is held for no round trip more. Stage 6 read that there was
// room; should a concurrent event have taken it meanwhile, the reservation fails as a
// serialization failure (migration 0105) and db::with_tenant runs the whole event again, which
// then reads the budget exhausted.
#include "events/refund.hpp"
#include "events/stages.hpp"

#include "budgets/ledger_ops.hpp"
#include "customers/enrol.hpp"
#include "db/tx.hpp"
#include "issuances/reserve.hpp"
#include "jobs/queue.hpp"
#include "rewards/issuing.hpp"

#include <spdlog/spdlog.h>
#include <loyalty/core/error.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/metrics/counters.hpp>

#include <chrono>

namespace loyalty::events {

namespace {

using db::Query;

// The customer locked and, when found, the event inserted under its idempotency key, in one
// round trip: kCustomerColumns, then the new event's id (null when the key was used before).
std::string lock_and_claim_sql(const char* where) {
  return std::string(R"sql(
  WITH c (c0, c1, c2, c3, c4, c5, c6, c7, c8, cid) AS (
    SELECT )sql") +
         kCustomerColumns + R"sql(, id FROM customers
     WHERE tenant_id = $1::uuid AND )sql" +
         where + R"sql( FOR UPDATE),
  e AS (
    INSERT INTO events (tenant_id, customer_id, type, occurred_at, data, amount_minor, currency,
                        idempotency_key, request_hash, status, original_event_id)
    SELECT $1::uuid, c.cid, $5::text, coalesce($4::timestamptz, now()), $6::jsonb, $7::bigint,
           $8::text, $9::text, $10::text, 'processing', $11::uuid FROM c
    ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id)
  SELECT c0, c1, c2, c3, c4, c5, c6, c7, c8, (SELECT id::text FROM e) FROM c)sql";
}
// By its primary key: the id was checked to be a uuid (id::text = $2 could use no index and read
// all the tenant's customers at each event).
const std::string kClaimByIdSql = lock_and_claim_sql("id = $2::uuid");
const Query kClaimById{"ev_lock_insert_id", kClaimByIdSql.c_str()};
const std::string kClaimByPhoneSql = lock_and_claim_sql("phone = $2");
const Query kClaimByPhone{"ev_lock_insert_phone", kClaimByPhoneSql.c_str()};
const std::string kClaimByRefSql = lock_and_claim_sql("external_ref = $2");
const Query kClaimByRef{"ev_lock_insert_ref", kClaimByRefSql.c_str()};
const Query kStoredAnswer{"ev_existing", R"sql(
  SELECT request_hash, status, coalesce(response_status, 0) AS response_status,
         coalesce(response::text, '') AS response
    FROM events WHERE tenant_id = $1::uuid AND idempotency_key = $2)sql"};

/// Stage 1: the body parsed and validated, and the tenant's compiled rules.
EventContext parse_request(db::Database& database, RulesCache& cache, const std::string& tenant_id,
                           const nlohmann::json& body, const std::string& header_key) {
  EventContext ctx;
  ctx.tenant_id = tenant_id;
  ctx.request = parse_event_request(body, header_key);
  ctx.tenant = cache.get(database, tenant_id);
  return ctx;
}

/// The customer locked and the event claimed, or no customer when there is none.
bool try_claim(db::Tx& tx, EventContext& ctx, std::optional<std::string>& event_id) {
  const auto& req = ctx.request;
  const auto& ref = req.customer;
  const Query& q = ref.id ? kClaimById : ref.phone ? kClaimByPhone : kClaimByRef;
  std::string key = ref.id ? *ref.id : ref.phone ? *ref.phone : ref.external_ref.value_or("");
  std::optional<std::string> occurred;
  if (!req.occurred_at.empty()) occurred = req.occurred_at;
  auto rows = tx.exec(q, ctx.tenant_id, key, ctx.tenant->timezone, occurred, req.type,
                      req.data.dump(), req.amount, req.currency, req.idempotency_key,
                      req.request_hash, req.original_event_id);
  if (rows.empty()) return false;
  ctx.customer = read_customer_view(rows[0]);
  if (!rows[0][9].is_null()) event_id = rows[0][9].as<std::string>();
  return true;
}

/// The answer stored under the key, when its body is this one's; Error otherwise.
EventResponse stored_answer(db::Tx& tx, const EventContext& ctx) {
  auto stored = tx.exec1(kStoredAnswer, ctx.tenant_id, ctx.request.idempotency_key);
  if (stored["request_hash"].as<std::string>() != ctx.request.request_hash) {
    throw Error(ErrorCode::invalid, "idempotency-key-reused",
                "this idempotency key was used for a different event",
                {{"/idempotency_key", "already used with another body"}});
  }
  EventResponse replay;
  replay.status = stored["response_status"].as<int>();
  replay.body = nlohmann::json::parse(stored["response"].as<std::string>()).dump();
  replay.replayed = true;
  return replay;
}

/// Stages 2 and 3: the customer resolved (enrolled on the fly when the tenant allows it) and
/// locked, so one customer's events serialize, and the event stored under its idempotency key.
/// Returns the stored answer when the key was used before (the event is a replay).
std::optional<EventResponse> claim_key_and_lock_customer(db::Tx& tx, EventContext& ctx) {
  std::optional<std::string> event_id;
  if (!try_claim(tx, ctx, event_id)) {
    const auto& ref = ctx.request.customer;
    if (ref.id || !ctx.tenant->settings.value("auto_enrol", true)) {
      throw Error(ErrorCode::invalid, "unknown-customer",
                  "no such customer, and this tenant does not enrol customers on the fly",
                  {{ref.id ? "/customer/id" : "/customer", "unknown customer"}});
    }
    // Enrolled now, by this event or (false) by a concurrent one meanwhile.
    ctx.enrolled_now =
        customers::enrol_on_the_fly(tx, ctx.tenant_id, ref.phone, ref.external_ref, "pos");
    if (!try_claim(tx, ctx, event_id))
      throw Error(ErrorCode::unavailable, "contention", "try again");
  }
  if (!event_id) return stored_answer(tx, ctx);
  ctx.event_id = *event_id;
  return std::nullopt;
}

/// Stage 7's writes: each issuance created as stage 6 allows it, and what it reserves kept for
/// the commit.
class PipelineWriter : public IssuanceWriter {
 public:
  void lock_rule(db::Tx& tx, const std::string& rule_id) override {
    issuances::lock_rule_issuance(tx, rule_id);
  }

  void create(db::Tx& tx, const EventContext& ctx, RuleOutcome& outcome) override {
    const auto& rule = *outcome.rule;
    issuances::NewReserved item{ctx.customer.id, ctx.event_id,     rule.id,     rule.reward_id,
                                rule.budget_id,  rule.campaign_id, std::nullopt};
    // A generated code is new to the tenant at the first try but for the rarest collision.
    for (int attempt = 0; attempt < 6; ++attempt) {
      if (outcome.terms.generated) item.code = rewards::new_voucher_code(outcome.terms.config);
      auto made = issuances::create_reserved(tx, ctx.tenant_id, item);
      switch (made.outcome) {
        case issuances::ReserveOutcome::created:
          outcome.issuance = std::move(made.issuance);
          if (outcome.terms.stock) stock_.push_back(rule.reward_id);
          if (rule.budget_id) {
            reservations_.push_back({*rule.budget_id, outcome.issuance->cost_minor,
                                     outcome.issuance->currency, outcome.issuance->id});
          }
          return;
        case issuances::ReserveOutcome::reward_missing:
          outcome.reason = "reward_missing";
          return;
        case issuances::ReserveOutcome::pool_empty:
          outcome.reason = "pool_empty";
          return;
        case issuances::ReserveOutcome::code_taken:
          continue;
      }
    }
    outcome.reason = "code_generation_failed";
  }

  /// Stage 6's writes, last of all and with the COMMIT: stock, then budgets, each in id order.
  void reserve_with_commit(db::Tx& tx, const EventContext& ctx) {
    rewards::take_stock_with_commit(tx, ctx.tenant_id, std::move(stock_));
    budgets::reserve_with_commit(tx, ctx.tenant_id, std::move(reservations_), Actor::system());
  }

 private:
  std::vector<std::string> stock_;
  std::vector<budgets::ReserveItem> reservations_;
};

/// What an event did, for the counters once it has committed.
struct Processed {
  std::string type;
  EventResponse response;
  RulesOutcome rules;
  std::size_t reserved = 0, refunded = 0;
};

/// Stage 8: the answer, stored for replays with the COMMIT, with the job that issues the
/// rewards when the event reserved any.
Processed answer(db::Tx& tx, const EventContext& ctx, RulesOutcome rules,
                 std::optional<nlohmann::json> refund) {
  Processed out;
  auto issued = nlohmann::json::array();
  for (const auto& r : rules.rules) {
    if (r.issuance) issued.push_back(issuances::to_json(*r.issuance));
  }
  const auto& req = ctx.request;
  nlohmann::json response = {
      {"event",
       {{"id", ctx.event_id},
        {"type", req.type},
        {"customer_id", ctx.customer.id},
        {"occurred_at", ctx.customer.occurred_utc},
        {"idempotency_key", req.idempotency_key},
        {"data", req.data}}},
      {"customer",
       {{"id", ctx.customer.id}, {"enrolled", ctx.enrolled_now}, {"status", ctx.customer.status}}},
      {"issuances", issued},
      {"not_issued", not_issued_json(rules)}};
  if (refund) {
    out.refunded = refund->at("cancelled").size();
    response["refund"] = std::move(*refund);
  }
  out.reserved = issued.size();
  out.response.status = 201;
  out.response.body = response.dump();
  if (out.reserved) {
    jobs::enqueue_with_commit(tx, ctx.tenant_id, jobs::kIssueEvent, {{"event_id", ctx.event_id}});
  }
  tx.exec_with_commit("UPDATE events SET status = 'processed', response_status = 201, response = " +
                      tx.quote(out.response.body) +
                      "::jsonb WHERE tenant_id = " + tx.quote(ctx.tenant_id) +
                      "::uuid AND id = " + tx.quote(ctx.event_id) + "::uuid");
  out.rules = std::move(rules);
  return out;
}

Processed process(db::Database& database, RulesCache& cache, const std::string& tenant_id,
                  const nlohmann::json& body, const std::string& header_key, const Actor& actor) {
  EventContext parsed = parse_request(database, cache, tenant_id, body, header_key);  // 1
  auto processed = db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    EventContext ctx = parsed;  // a retried transaction starts from the parsed request again
    if (auto replay = claim_key_and_lock_customer(tx, ctx)) {  // 2, 3
      Processed out;
      out.response = std::move(*replay);
      return out;
    }
    if (ctx.request.type == "refund") {
      return answer(tx, ctx, {}, refund_event(tx, ctx, actor));  // instead of 4 to 7
    }
    PipelineWriter writer;
    auto rules = decide_rewards(tx, ctx, writer);                // 4 to 7
    auto out = answer(tx, ctx, std::move(rules), std::nullopt);  // 8
    writer.reserve_with_commit(tx, ctx);                         // 6's writes, with the COMMIT
    return out;
  });
  processed.type = parsed.request.type;
  return processed;
}

/// Counts a processed event once its transaction has committed.
void count_processed(const Processed& p) {
  auto& c = metrics::counters();
  using metrics::EventOutcome;
  auto outcome = p.response.replayed ? EventOutcome::replayed
                 : p.reserved        ? EventOutcome::rewarded
                                     : EventOutcome::not_rewarded;
  c.events.add(p.type, static_cast<std::size_t>(outcome));
  if (p.response.replayed) return;
  for (std::size_t i = 0; i < p.rules.evaluations.size(); ++i) {
    if (p.rules.evaluations[i] > 0) {
      c.rule_evaluations.add(static_cast<metrics::RuleEvaluation>(i), p.rules.evaluations[i]);
    }
  }
  if (p.reserved) c.issuances.add(metrics::IssuanceTransition::reserved, p.reserved);
  if (p.refunded) c.issuances.add(metrics::IssuanceTransition::refunded, p.refunded);
  if (!p.rules.not_applied.empty()) c.rewards_not_issued.add(p.rules.not_applied);
  for (const auto& r : p.rules.rules) {
    if (r.matched && !r.reason.empty()) c.rewards_not_issued.add(r.reason);
  }
}

}  // namespace

EventResponse process_event(db::Database& database, RulesCache& cache, const std::string& tenant_id,
                            const nlohmann::json& body, const std::string& header_key,
                            const Actor& actor) {
  try {
    auto started = std::chrono::steady_clock::now();
    auto processed = process(database, cache, tenant_id, body, header_key, actor);
    auto elapsed =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);
    spdlog::debug("event.processed tenant={} replayed={} duration_ms={:.2f}", tenant_id,
                  processed.response.replayed, elapsed.count());
    count_processed(processed);
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
