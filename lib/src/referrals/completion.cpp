// A referral completed: at the referee's first qualifying event (the event pipeline's call, in
// its transaction), then the two referral.completed events (the worker's job, once that
// transaction has committed).
#include "db/tx.hpp"
#include "jobs/queue.hpp"
#include "referrals/hooks.hpp"

#include <spdlog/spdlog.h>
#include <loyalty/core/error.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/jobs/worker.hpp>
#include <loyalty/referrals/referrals.hpp>

#include <algorithm>

namespace loyalty::referrals {

namespace {

using db::Query;

// Once: only the first transaction to find the referral open completes it (the customer's row,
// locked by the pipeline, already makes a customer's events take turns). The customer's flag
// goes down with it, and the outbox row is queued (deduplicated by the referral's id).
const Query kComplete{"referrals_complete", R"sql(
  WITH done AS (
    UPDATE referrals SET completed_at = now(), completing_event_id = $3::uuid
     WHERE tenant_id = $1::uuid AND referee_id = $2::uuid AND completed_at IS NULL
    RETURNING id, referrer_id, referee_id),
  closed AS (
    UPDATE customers SET referral_open = false
     WHERE tenant_id = $1::uuid AND id = $2::uuid AND referral_open),
  queued AS (
    INSERT INTO outbox (tenant_id, event_type, payload, dedupe_key)
    SELECT $1::uuid, 'referral.completed',
           jsonb_build_object('referral_id', id, 'referrer_customer_id', referrer_id,
                              'referee_customer_id', referee_id, 'event_id', $3::uuid),
           id::text
      FROM done
    ON CONFLICT DO NOTHING)
  SELECT id::text FROM done)sql"};
const Query kCompleted{"referrals_completed", R"sql(
  SELECT referrer_id::text, referee_id::text,
         to_char(completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    FROM referrals
   WHERE tenant_id = $1::uuid AND id = $2::uuid AND completed_at IS NOT NULL)sql"};

/// The referral.completed event of one side.
events::EventInput side(const std::string& referral_id, const std::string& role,
                        const std::string& customer, const std::string& other,
                        const std::string& at) {
  nlohmann::json body = {
      {"customer", {{"id", customer}}},
      {"type", "referral.completed"},
      {"occurred_at", at},
      {"data", {{"role", role}, {"referral_id", referral_id}, {"other_customer_id", other}}},
      {"idempotency_key", "referral:" + referral_id + ":" + role}};
  return events::EventInput{std::move(body), "", Actor::system()};
}

void process_completed(db::Database& database, events::RulesCache& cache,
                       const std::string& tenant_id, const std::string& referral_id) {
  auto rows = db::with_tenant(
      database, tenant_id, [&](db::Tx& tx) { return tx.exec(kCompleted, tenant_id, referral_id); });
  if (rows.empty()) throw jobs::PermanentFailure("no completed referral with this id");
  const auto referrer = rows[0][0].as<std::string>();
  const auto referee = rows[0][1].as<std::string>();
  const auto at = rows[0][2].as<std::string>();
  // Both in one group: one transaction; a replay (the job run again) answers as before.
  auto results = events::process_events(database, cache, tenant_id,
                                        {side(referral_id, "referrer", referrer, referee, at),
                                         side(referral_id, "referee", referee, referrer, at)});
  for (const auto& result : results) {
    if (!result.error) continue;
    try {
      std::rethrow_exception(result.error);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::invalid) throw jobs::PermanentFailure(e.type());
      throw;
    }
  }
  spdlog::debug(R"("msg":"referral.completed","tenant":"{}","referral":"{}")", tenant_id,
                referral_id);
}

}  // namespace

void on_event(db::Tx& tx, const std::string& tenant_id, const nlohmann::json& tenant_settings,
              const std::string& customer_id, const std::string& event_id,
              const std::string& event_type, const std::optional<MinorUnits>& amount) {
  if (event_type == "referral.completed" || event_type == "refund") return;
  auto settings = settings_of(tenant_settings);
  if (std::find(settings.event_types.begin(), settings.event_types.end(), event_type) ==
      settings.event_types.end())
    return;
  if (settings.min_amount_minor && (!amount || *amount < *settings.min_amount_minor)) return;
  auto done = tx.exec(kComplete, tenant_id, customer_id, event_id);
  if (done.empty()) return;
  jobs::enqueue(tx, tenant_id, kCompleteJob, {{"referral_id", done[0][0].as<std::string>()}});
}

void register_handlers(jobs::Worker& worker, events::RulesCache& cache) {
  worker.on(kCompleteJob, [&cache](db::Database& database, const jobs::Job& job) {
    auto id = job.payload.find("referral_id");
    if (id == job.payload.end() || !id->is_string() || !is_uuid(id->get<std::string>()))
      throw jobs::PermanentFailure("payload has no referral_id");
    process_completed(database, cache, job.tenant_id, id->get<std::string>());
  });
}

}  // namespace loyalty::referrals
