#include <loyalty/jobs/admin.hpp>

#include "db/tx.hpp"

#include <loyalty/core/error.hpp>

#include <algorithm>
#include <tuple>

namespace loyalty::jobs {

namespace {

const db::Query kList{
    "jobs_admin_list",
    "SELECT id, tenant_id::text, kind, status, attempts, max_attempts, "
    "to_char(run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "coalesce(locked_by, ''), coalesce(last_error, ''), "
    "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), payload::text "
    "FROM jobs WHERE ($1 = '' OR status = $1) AND ($2 = '' OR tenant_id::text = $2) "
    "ORDER BY id DESC LIMIT $3",
    db::Plan::per_call};
const db::Query kRetryOne{"jobs_admin_retry_one",
                          "UPDATE jobs SET status = 'pending', attempts = 0, run_at = now(), "
                          "locked_by = NULL, lease_until = NULL, updated_at = now() "
                          "WHERE id = $1 AND status = 'dead'"};
const db::Query kRetryAll{"jobs_admin_retry_all",
                          "UPDATE jobs SET status = 'pending', attempts = 0, run_at = now(), "
                          "locked_by = NULL, lease_until = NULL, updated_at = now() "
                          "WHERE status = 'dead' AND ($1 = '' OR tenant_id::text = $1)"};

// Done jobs older than the cutoff ($1), of one tenant ($2) or all. Purged by ranges of ids
// ($3 <= id < $4) up to the newest job created before the cutoff: ids grow with time, so the
// ranges cover every job old enough, and each DELETE reads its range by primary key.
#define LOYALTY_PURGEABLE \
  "status = 'done' AND updated_at < $1::timestamptz AND ($2 = '' OR tenant_id::text = $2)"
const db::Query kPurgeCount{"jobs_admin_purge_count",
                            "SELECT count(*) FROM jobs WHERE " LOYALTY_PURGEABLE};
const db::Query kPurgeBounds{
    "jobs_admin_purge_bounds",
    "SELECT now() - make_interval(days => $1), (SELECT min(id) FROM jobs), "
    "(SELECT max(id) FROM jobs WHERE created_at < now() - make_interval(days => $1))"};
const db::Query kPurgeRange{"jobs_admin_purge_range",
                            "DELETE FROM jobs WHERE id >= $3 AND id < $4 AND " LOYALTY_PURGEABLE};
#undef LOYALTY_PURGEABLE
constexpr long long kPurgeRangeIds = 10000;

}  // namespace

nlohmann::json to_json(const JobRow& job) {
  nlohmann::json out = {
      {"id", job.id},         {"tenant_id", job.tenant_id},   {"kind", job.kind},
      {"status", job.status}, {"attempts", job.attempts},     {"max_attempts", job.max_attempts},
      {"run_at", job.run_at}, {"updated_at", job.updated_at}, {"payload", job.payload}};
  out["locked_by"] = job.locked_by.empty() ? nlohmann::json() : nlohmann::json(job.locked_by);
  out["last_error"] = job.last_error.empty() ? nlohmann::json() : nlohmann::json(job.last_error);
  return out;
}

std::vector<JobRow> list_jobs(db::Database& database, const JobFilter& filter) {
  static const std::vector<std::string> kStatuses = {"", "pending", "running", "done", "dead"};
  if (std::find(kStatuses.begin(), kStatuses.end(), filter.status) == kStatuses.end()) {
    throw Error(ErrorCode::invalid, "invalid-status",
                "status must be pending, running, done or dead",
                {{"/status", "must be pending, running, done or dead"}});
  }
  int limit = std::clamp(filter.limit, 1, 10000);
  return db::with_tx(database, [&](db::Tx& tx) {
    std::vector<JobRow> jobs;
    for (const auto& r : tx.exec(kList, filter.status, filter.tenant_id, limit)) {
      JobRow j;
      j.id = r[0].as<long long>();
      j.tenant_id = r[1].as<std::string>();
      j.kind = r[2].as<std::string>();
      j.status = r[3].as<std::string>();
      j.attempts = r[4].as<int>();
      j.max_attempts = r[5].as<int>();
      j.run_at = r[6].as<std::string>();
      j.locked_by = r[7].as<std::string>();
      j.last_error = r[8].as<std::string>();
      j.updated_at = r[9].as<std::string>();
      j.payload = nlohmann::json::parse(r[10].as<std::string>(), nullptr, false);
      jobs.push_back(std::move(j));
    }
    return jobs;
  });
}

int retry_dead(db::Database& database, const std::optional<long long>& id,
               const std::string& tenant_id) {
  return db::with_tx(database, [&](db::Tx& tx) {
    if (id) {
      auto n = tx.exec(kRetryOne, *id).affected_rows();
      if (n == 0) {
        throw Error(ErrorCode::not_found, "not-found", "no dead job " + std::to_string(*id));
      }
      return static_cast<int>(n);
    }
    return static_cast<int>(tx.exec(kRetryAll, tenant_id).affected_rows());
  });
}

long long purge_done(db::Database& database, int older_than_days, const std::string& tenant_id,
                     bool dry_run) {
  if (older_than_days < 0) {
    throw Error(ErrorCode::invalid, "invalid-age", "--older-than must be 0 or more days");
  }
  auto bounds = db::with_tx(database, [&](db::Tx& tx) {
    auto r = tx.exec1(kPurgeBounds, older_than_days);
    return std::tuple{r[0].as<std::string>(), r[1].is_null() ? 0 : r[1].as<long long>(),
                      r[2].is_null() ? -1 : r[2].as<long long>()};
  });
  const auto& [cutoff, first, last] = bounds;
  if (dry_run) {
    return db::with_tx(database, [&](db::Tx& tx) {
      return tx.exec1(kPurgeCount, cutoff, tenant_id)[0].as<long long>();
    });
  }
  long long purged = 0;
  for (long long from = first; from <= last; from += kPurgeRangeIds) {
    purged += db::with_tx(database, [&](db::Tx& tx) {
      return static_cast<long long>(
          tx.exec(kPurgeRange, cutoff, tenant_id, from, std::min(from + kPurgeRangeIds, last + 1))
              .affected_rows());
    });
  }
  return purged;
}

}  // namespace loyalty::jobs
