#pragma once
// Operator views of the job queue (loyaltyctl jobs): listing jobs across tenants, putting
// dead ones back, purging old done ones. Needs the owner role, which sees every tenant's jobs.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace loyalty::db {
class Database;
}

namespace loyalty::jobs {

/// A job as an operator sees it (the payload holds ids only, never secrets or codes).
struct JobRow {
  long long id = 0;
  std::string tenant_id;
  std::string kind;
  std::string status;
  int attempts = 0;
  int max_attempts = 0;
  std::string run_at;
  std::string locked_by;
  std::string last_error;
  std::string updated_at;
  nlohmann::json payload;
};

nlohmann::json to_json(const JobRow& job);

struct JobFilter {
  std::string status;     ///< pending | running | done | dead; empty for all
  std::string tenant_id;  ///< empty for every tenant
  int limit = 100;
};

/// Jobs, newest first. Throws Error(invalid) for an unknown status.
std::vector<JobRow> list_jobs(db::Database& db, const JobFilter& filter);

/// Puts dead jobs back in the queue, due at once with their attempts reset: one job by id, or
/// (id empty) every dead job of the filter's tenant (all tenants when empty). Returns how many.
/// Throws Error(not_found) when an id names no dead job.
int retry_dead(db::Database& db, const std::optional<long long>& id, const std::string& tenant_id);

/// Deletes the jobs done more than `older_than_days` days ago (of one tenant, or every tenant
/// when tenant_id is empty) and returns how many; with dry_run, only counts them. Works through
/// the table in ranges of ids, one transaction each, so a long history never makes one long
/// transaction. Safe while daemons run: nothing touches a done job again. Throws Error(invalid)
/// for a negative age.
long long purge_done(db::Database& db, int older_than_days, const std::string& tenant_id,
                     bool dry_run);

/// The queue's depth across tenants, for /metrics.
struct QueueDepth {
  long long due = 0;        ///< pending, run_at passed
  long long scheduled = 0;  ///< pending, waiting for a retry's backoff
  long long running = 0;
  long long dead = 0;
  double oldest_due_seconds = 0;  ///< how long the oldest due job has waited (0 when none)
};

/// Reads the queue's depth (through a SECURITY DEFINER function, so loyalty_app may call it).
/// Throws Error(unavailable) when the database cannot be reached.
QueueDepth queue_depth(db::Database& db);

}  // namespace loyalty::jobs
