#pragma once
// Private: the pipeline's two halves, for the group commit (group_commit.cpp) that sits between
// them — stage 1 for each event as it arrives, stages 2 to 8 for a group of them in one
// transaction.

#include "events/stages.hpp"

#include <loyalty/core/actor.hpp>
#include <loyalty/events/events.hpp>

#include <exception>
#include <string>
#include <vector>

namespace loyalty::events {

/// An event between stage 1 and its answer.
struct PendingEvent {
  EventContext parsed;  ///< stage 1's output, which every attempt of its group starts from
  Actor actor;
  EventResponse response;    ///< its answer, once its group has committed
  std::exception_ptr error;  ///< or what it failed with (alone, or with its whole group)
};

/// Stage 1: the body parsed and validated (Error(invalid) with field pointers), and the
/// tenant's compiled rules.
EventContext parse_request(db::Database& database, RulesCache& cache, const std::string& tenant_id,
                           const nlohmann::json& body, const std::string& header_key);

/// Counts an event that failed, by its problem type (loyalty_events_rejected_total).
void count_rejected(const std::exception_ptr& error);

/// Stages 2 to 8 of a group of events of one tenant, in one transaction with one COMMIT: each
/// event in turn, as they would be one after the other; one that fails fails alone (the group
/// runs again with a savepoint for each event). Answers every event (its response or error); never
/// throws.
void process_group(db::Database& database, const std::string& tenant_id,
                   const std::vector<PendingEvent*>& events) noexcept;

}  // namespace loyalty::events
