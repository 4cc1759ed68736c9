#include <loyalty/jobs/admin.hpp>

#include "db/tx.hpp"

#include <loyalty/core/error.hpp>

#include <algorithm>

namespace loyalty::jobs {

namespace {

const db::Query kList{
    "jobs_admin_list",
    "SELECT id, tenant_id::text, kind, status, attempts, max_attempts, "
    "to_char(run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "coalesce(locked_by, ''), coalesce(last_error, ''), "
    "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), payload::text "
    "FROM jobs WHERE ($1 = '' OR status = $1) AND ($2 = '' OR tenant_id::text = $2) "
    "ORDER BY id DESC LIMIT $3"};
const db::Query kRetryOne{"jobs_admin_retry_one",
                          "UPDATE jobs SET status = 'pending', attempts = 0, run_at = now(), "
                          "locked_by = NULL, lease_until = NULL, updated_at = now() "
                          "WHERE id = $1 AND status = 'dead'"};
const db::Query kRetryAll{"jobs_admin_retry_all",
                          "UPDATE jobs SET status = 'pending', attempts = 0, run_at = now(), "
                          "locked_by = NULL, lease_until = NULL, updated_at = now() "
                          "WHERE status = 'dead' AND ($1 = '' OR tenant_id::text = $1)"};

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

}  // namespace loyalty::jobs
