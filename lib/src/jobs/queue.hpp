#pragma once
// Private: queueing background jobs inside the transaction of the change that needs them.

#include "db/tx.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace loyalty::jobs {

/// Kind of the job that issues an event's reserved issuances (payload {"event_id": ...}).
inline constexpr const char* kIssueEvent = "event.issue";

/// Queues a job in the caller's transaction (tenant set); it runs once that commits.
void enqueue(db::Tx& tx, const std::string& tenant_id, const std::string& kind,
             const nlohmann::json& payload);

/// Queues a job of `kind` for each payload with the caller's COMMIT (db::Tx::exec_with_commit),
/// in one statement: one round trip less.
void enqueue_all_with_commit(db::Tx& tx, const std::string& tenant_id, const std::string& kind,
                             const std::vector<nlohmann::json>& payloads);

}  // namespace loyalty::jobs
