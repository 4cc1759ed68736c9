// The hot path: a POS event in, its answer out, as eight stages that each do one thing and hand
// an EventContext to the next. Each table is written by the module that owns it; the pipeline
// only calls them.
//
//   1. authenticate and parse   the daemon authenticates (daemon/loyaltyd); parse_request here
//                               (events/request.cpp), the tenant's compiled rules from the cache
//                               (events/cache.cpp)
//      -- group commit --       events/group_commit.cpp: the events of a tenant that arrive while
//                               its transactions are busy wait and go together into the next
//                               one (process_group below); one that fails fails
//                               alone (the group runs again, each event behind a
//                               savepoint)
//   2. idempotency claim        the event row under its key; a replay answers with the stored
//   3. resolve and lock the     answer (or an earlier event of the group's) — one statement with
//      customer                 stage 3 (the event row names its customer):
//                               claim_key_and_lock_customer below; enrolment on the fly by
//                               customers/enrol.hpp
//   4. evaluate                 events/stages.cpp, evaluate_rules (history: events/history.cpp)
//   5. caps and cooldowns       events/stages.cpp, check_caps (counts: issuances/reserve.hpp)
//   6. reserve budget, stock    events/stages.cpp, Reservations: the rewards' terms
//      and codes                (rewards/issuing.hpp) and the budgets' room
//                               (budgets/ledger_ops.hpp) less what the group took, read, then
//                               taken rule by rule
//   7. write issuances, ledger, issuances/reserve.hpp creates each issuance with its pool code;
//      outbox and job           the group's jobs (jobs/queue.hpp), stock (rewards/issuing.hpp)
//                               and budget reservations with their ledger movements and
//                               threshold outbox rows (budgets/ledger_ops.hpp) go with the COMMIT,
//                               one statement each for the whole group (events/group.cpp)
//   8. answer                   the answers stored for replays, one statement with the COMMIT;
//                               each caller gets its answer once the group has committed
//
// A refund runs events/refund.cpp instead of stages 4 to 7. `rules simulate` (simulate.cpp)
// runs stages 4 to 7 with a writer that writes nothing.
//
// Why the budget and stock writes wait for the COMMIT: every rewarding event of a tenant locks
// its budget row until it commits, so the row is the queue they all wait in; sent with the
// COMMIT, in one round trip, it is held for no round trip more, once per group. Stage 6 read
// that there was room; should a concurrent transaction have taken it meanwhile, the
// reservation fails as a serialization failure (migration 0105) and db::with_tenant runs the
// whole group again, which then reads the budget exhausted.
#include "events/pipeline.hpp"

#include "events/group.hpp"
#include "events/refund.hpp"

#include "customers/enrol.hpp"
#include "db/tx.hpp"
#include "issuances/reserve.hpp"
#include "referrals/hooks.hpp"
#include "rewards/issuing.hpp"
#include "segments/membership.hpp"
#include "tiers/evaluate.hpp"

#include <spdlog/spdlog.h>
#include <loyalty/core/error.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/metrics/counters.hpp>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <utility>

namespace loyalty::events {

namespace {

using db::Query;

// The customer locked and, when found, the event inserted under its idempotency key, in one
// round trip: kCustomerColumns, then the new event's id (null when the key was used before).
std::string lock_and_claim_sql(const char* where) {
  return std::string(R"sql(
  WITH c (c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, cid) AS (
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
  SELECT c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, (SELECT id::text FROM e) FROM c)sql";
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
  SELECT request_hash, coalesce(response::text, '') AS response
    FROM events WHERE tenant_id = $1::uuid AND idempotency_key = $2)sql"};

/// How the event names its customer, as the key the claim looks them up by.
std::pair<int, std::string> customer_key(const CustomerRef& ref) {
  if (ref.id) return {0, *ref.id};
  if (ref.phone) return {1, *ref.phone};
  return {2, ref.external_ref.value_or("")};
}

/// The customer locked and the event claimed, or no customer when there is none.
bool try_claim(db::Tx& tx, EventContext& ctx, std::optional<std::string>& event_id) {
  const auto& req = ctx.request;
  const auto& ref = req.customer;
  const Query& q = ref.id ? kClaimById : ref.phone ? kClaimByPhone : kClaimByRef;
  std::string key = customer_key(ref).second;
  std::optional<std::string> occurred;
  if (!req.occurred_at.empty()) occurred = req.occurred_at;
  auto rows = tx.exec(q, ctx.tenant_id, key, ctx.tenant->timezone, occurred, req.type,
                      req.data.dump(), req.amount, req.currency, req.idempotency_key,
                      req.request_hash, req.original_event_id);
  if (rows.empty()) return false;
  ctx.customer = read_customer_view(rows[0]);
  if (!rows[0][11].is_null()) event_id = rows[0][11].as<std::string>();
  return true;
}

/// The answer an earlier event gave under the key — one of the group, or else the one stored —
/// when its body is this one's; Error otherwise.
EventResponse replay(db::Tx& tx, const EventContext& ctx) {
  std::string hash, body;
  if (const auto* earlier = ctx.group->answered(ctx.request.idempotency_key)) {
    hash = earlier->request_hash;
    body = earlier->body;
  } else {
    auto stored = tx.exec1(kStoredAnswer, ctx.tenant_id, ctx.request.idempotency_key);
    hash = stored["request_hash"].as<std::string>();
    body = stored["response"].as<std::string>();
  }
  if (hash != ctx.request.request_hash) {
    throw Error(ErrorCode::invalid, "idempotency-key-reused",
                "this idempotency key was used for a different event",
                {{"/idempotency_key", "already used with another body"}});
  }
  EventResponse out;
  out.status = 201;
  out.body = nlohmann::json::parse(body).dump();
  out.replayed = true;
  return out;
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
  if (!event_id) return replay(tx, ctx);
  ctx.event_id = *event_id;
  return std::nullopt;
}

/// Stage 7's writes: each issuance created as stage 6 allows it, and what it reserves kept for
/// the group's COMMIT.
class PipelineWriter : public IssuanceWriter {
 public:
  explicit PipelineWriter(EventWrites& writes) : writes_(writes) {}

  void lock_rule(db::Tx& tx, const std::string& rule_id) override {
    issuances::lock_rule_issuance(tx, rule_id);
  }

  void create(db::Tx& tx, const EventContext& ctx, RuleOutcome& outcome) override {
    const auto& rule = *outcome.rule;
    issuances::NewReserved item{
        ctx.customer.id, ctx.event_id,     rule.id,      rule.reward_id,
        rule.budget_id,  rule.campaign_id, std::nullopt, ctx.customer.tier_multiplier_bp};
    // A generated code is new to the tenant at the first try but for the rarest collision.
    for (int attempt = 0; attempt < 6; ++attempt) {
      if (outcome.terms.generated) item.code = rewards::new_voucher_code(outcome.terms.config);
      auto made = issuances::create_reserved(tx, ctx.tenant_id, item);
      switch (made.outcome) {
        case issuances::ReserveOutcome::created:
          outcome.issuance = std::move(made.issuance);
          if (outcome.terms.stock) writes_.stock.push_back(rule.reward_id);
          if (rule.budget_id) {
            writes_.reservations.push_back({*rule.budget_id, outcome.issuance->cost_minor,
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

 private:
  EventWrites& writes_;
};

/// What an event did, for the counters once it has committed.
struct Processed {
  std::string type;
  EventResponse response;
  RulesOutcome rules;
  std::size_t reserved = 0, refunded = 0;
};

/// Stage 8: the answer, to be stored for replays with the group's COMMIT, with the job that
/// issues the rewards when the event reserved any.
Processed answer(const EventContext& ctx, RulesOutcome rules, std::optional<nlohmann::json> refund,
                 EventWrites& writes) {
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
  writes.event_id = ctx.event_id;
  writes.answer = out.response.body;
  writes.rewarded = out.reserved > 0;
  out.rules = std::move(rules);
  return out;
}

/// Stages 2 to 8 of one event, inside its group's transaction; its writes for the COMMIT in
/// `writes`.
Processed process_one(db::Tx& tx, EventContext& ctx, const Actor& actor, EventWrites& writes) {
  Processed out;
  if (auto replayed = claim_key_and_lock_customer(tx, ctx)) {  // 2, 3
    out.response = std::move(*replayed);
  } else if (ctx.request.type == "refund") {
    out = answer(ctx, {}, refund_event(tx, ctx, actor), writes);  // instead of 4 to 7
  } else {
    PipelineWriter writer(writes);
    auto rules = decide_rewards(tx, ctx, writer);  // 4 to 7
    tiers::after_event(tx, ctx.tenant->tier_measure, ctx.tenant_id, ctx.customer.id, ctx.event_id,
                       ctx.request.type);                       // the tier, when the event moved it
    out = answer(ctx, std::move(rules), std::nullopt, writes);  // 8
    // A referee's first qualifying event completes their referral (customers.referral_open).
    if (ctx.customer.referral_open) {
      referrals::on_event(tx, ctx.tenant_id, ctx.tenant->settings, ctx.customer.id, ctx.event_id,
                          ctx.request.type, ctx.request.amount);
    }
  }
  // The customer's segments, for a tenant that has any, recomputed by the worker after the commit.
  if (ctx.tenant->segments && !out.response.replayed)
    segments::queue_customer(tx, ctx.tenant_id, ctx.customer.id);
  out.type = ctx.request.type;
  return out;
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

/// Thrown out of a group's transaction run without savepoints when one of its events failed:
/// nothing is committed, and the group runs again with a savepoint for each event.
struct RunWithSavepoints {};

/// One run of the group's transaction: each event in turn, then the group's writes with the
/// COMMIT. With `savepoints`, each event behind a savepoint of its own, so that one that fails
/// fails alone; without, the first that fails ends the run (RunWithSavepoints). A failure that
/// is the transaction's rather than the event's (a serialization failure, a deadlock, a lost
/// connection) leaves the run to with_tenant, which runs the whole group again. A group of one
/// needs no savepoint: the transaction stands for it, and its failure is the event's answer.
void run_group_once(db::Database& database, const std::string& tenant_id,
                    const std::vector<PendingEvent*>& events, const std::vector<std::size_t>& order,
                    bool savepoints, std::vector<Processed>& processed) {
  const bool alone = events.size() == 1;
  db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    GroupWrites group;  // a retried group starts again from the parsed requests
    processed.assign(events.size(), {});
    for (std::size_t n = 0; n < order.size(); ++n) {
      const std::size_t i = order[n];
      auto& event = *events[i];
      event.error = nullptr;
      if (savepoints)
        tx.exec_raw(n == 0 ? "SAVEPOINT event" : "RELEASE SAVEPOINT event; SAVEPOINT event");
      try {
        EventContext ctx = event.parsed;
        ctx.group = &group;
        EventWrites writes;
        processed[i] = process_one(tx, ctx, event.actor, writes);
        if (!processed[i].response.replayed) {
          group.add(ctx.request.idempotency_key, ctx.request.request_hash, std::move(writes));
        }
      } catch (const Error&) {
        if (alone) throw;
        if (!savepoints) throw RunWithSavepoints{};
        tx.exec_raw("ROLLBACK TO SAVEPOINT event");
        event.error = std::current_exception();
      } catch (const std::exception& e) {
        if (alone || db::is_retryable(e) || db::is_connection_loss(e)) throw;
        if (!savepoints) throw RunWithSavepoints{};
        tx.exec_raw("ROLLBACK TO SAVEPOINT event");
        try {
          db::rethrow_as_error(e);
        } catch (...) {
          event.error = std::current_exception();
        }
      }
    }
    group.write_with_commit(tx, tenant_id);
  });
}

/// The group's transaction. Its first run takes no savepoints — a subtransaction per event
/// cost the database about 40 % more CPU per event (measured: see the README's performance
/// section) — and should one of its events fail, the group runs again with them.
void run_group(db::Database& database, const std::string& tenant_id,
               const std::vector<PendingEvent*>& events, std::vector<Processed>& processed) {
  // Customers are locked in the order of their keys, so that two groups running at once never
  // wait for each other in a circle; one customer's events keep their order.
  std::vector<std::size_t> order(events.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return customer_key(events[a]->parsed.request.customer) <
           customer_key(events[b]->parsed.request.customer);
  });
  try {
    run_group_once(database, tenant_id, events, order, false, processed);
  } catch (const RunWithSavepoints&) {
    run_group_once(database, tenant_id, events, order, true, processed);
  }
}

}  // namespace

void count_rejected(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    metrics::counters().events_rejected.add(e.type());
  } catch (...) {
    metrics::counters().events_rejected.add("internal");
  }
}

EventContext parse_request(db::Database& database, RulesCache& cache, const std::string& tenant_id,
                           const nlohmann::json& body, const std::string& header_key) {
  EventContext ctx;
  ctx.tenant_id = tenant_id;
  ctx.request = parse_event_request(body, header_key);
  ctx.tenant = cache.get(database, tenant_id);
  return ctx;
}

void process_group(db::Database& database, const std::string& tenant_id,
                   const std::vector<PendingEvent*>& events) noexcept {
  std::vector<Processed> processed;
  auto started = std::chrono::steady_clock::now();
  try {
    run_group(database, tenant_id, events, processed);
  } catch (...) {
    // The group's transaction failed as a whole (or the event of a group of one did): every
    // event fails with it, and nothing of any was committed.
    for (auto* event : events) event->error = std::current_exception();
  }
  auto elapsed =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);
  spdlog::debug("event.group tenant={} events={} duration_ms={:.2f}", tenant_id, events.size(),
                elapsed.count());
  metrics::counters().event_groups.observe(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto& event = *events[i];
    if (event.error) {
      count_rejected(event.error);
      continue;
    }
    count_processed(processed[i]);
    event.response = std::move(processed[i].response);
  }
}

std::vector<EventResult> process_events(db::Database& database, RulesCache& cache,
                                        const std::string& tenant_id,
                                        const std::vector<EventInput>& inputs) {
  std::vector<PendingEvent> pending(inputs.size());
  std::vector<PendingEvent*> group;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    pending[i].actor = inputs[i].actor;
    try {
      pending[i].parsed =
          parse_request(database, cache, tenant_id, inputs[i].body, inputs[i].header_key);
      group.push_back(&pending[i]);
    } catch (...) {
      pending[i].error = std::current_exception();
      count_rejected(pending[i].error);
    }
  }
  if (!group.empty()) process_group(database, tenant_id, group);
  std::vector<EventResult> out(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    out[i].response = std::move(pending[i].response);
    out[i].error = pending[i].error;
  }
  return out;
}

EventResponse process_event(db::Database& database, RulesCache& cache, const std::string& tenant_id,
                            const nlohmann::json& body, const std::string& header_key,
                            const Actor& actor) {
  auto results = process_events(database, cache, tenant_id, {{body, header_key, actor}});
  if (results[0].error) std::rethrow_exception(results[0].error);
  return std::move(results[0].response);
}

}  // namespace loyalty::events
