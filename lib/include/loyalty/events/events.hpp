#pragma once
// The hot path: a POS event in, rewards out. One transaction per group of events: the customer is
// resolved (or enrolled) and locked, the event stored under its idempotency key, the tenant's
// active rules for the event type evaluated in priority order, caps and cooldowns checked,
// budgets reserved, pool codes allocated, `reserved` issuances created and the issuing job
// queued. Replays of an idempotency key answer with the original response, byte for byte.

#include <loyalty/core/actor.hpp>
#include <loyalty/core/page.hpp>
#include <loyalty/issuances/issuances.hpp>
#include <loyalty/rulesets/rulesets.hpp>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace loyalty::db {
class Database;
}

namespace loyalty::events {

/// The tenant's compiled rules, cached per process and refreshed when the tenant's
/// rules_version changes (checked at most once a second) or a rule's dates start or end.
/// Thread-safe; one per process.
class RulesCache {
 public:
  RulesCache();
  ~RulesCache();
  struct Entry;
  /// The current compiled rules of a tenant (loading them when stale).
  std::shared_ptr<const Entry> get(db::Database& db, const std::string& tenant_id);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// An answer to POST /events: the HTTP status and the exact body (replays repeat both).
struct EventResponse {
  int status = 201;
  std::string body;
  bool replayed = false;
};

/// Processes an event body (JSON object: customer, type, occurred_at, data, idempotency_key).
/// `header_key` is the Idempotency-Key header (empty when absent). Errors: Error(invalid) with
/// field pointers (nothing written); Error(invalid, "idempotency-key-reused") when the key was
/// used with another body; Error(invalid, "unknown-customer") when the tenant does not enrol
/// unknown customers on the fly. A group of one: process_events.
EventResponse process_event(db::Database& db, RulesCache& cache, const std::string& tenant_id,
                            const nlohmann::json& body, const std::string& header_key,
                            const Actor& actor);

/// One event for process_events: process_event's arguments.
struct EventInput {
  nlohmann::json body;
  std::string header_key;
  Actor actor;
};

/// What came of one event of a group: its answer, or the error it failed with (the errors of
/// process_event), alone or — when the group's transaction itself failed — with its group.
struct EventResult {
  EventResponse response;
  std::exception_ptr error;
};

/// Processes events of one tenant as one group: one transaction and one COMMIT for all, each
/// event in turn exactly as they would be one after the other (an event of a customer sees what
/// the earlier ones of the group gave them, a repeated idempotency key replays the earlier
/// answer); one that fails fails alone and writes nothing (the group runs again with a savepoint
/// for each event).
/// Answers are in the order of `inputs`; nothing is answered before the COMMIT.
std::vector<EventResult> process_events(db::Database& db, RulesCache& cache,
                                        const std::string& tenant_id,
                                        const std::vector<EventInput>& inputs);

/// Group commit for a process that answers many callers at once (the daemon): process() waits
/// while `lanes` groups of the tenant's events are running, and the events that arrived
/// meanwhile (up to `max_group`) go together into the next group — one transaction, one
/// COMMIT, one fsync for all of them (process_events). At concurrency 1 a group is one event
/// and nothing waits. Thread-safe.
class EventGroups {
 public:
  struct Options {
    std::size_t max_group = 32;  ///< events in one transaction at most
    std::size_t lanes = 2;       ///< a tenant's groups running at once
  };
  EventGroups(db::Database& db, RulesCache& cache, Options options);
  ~EventGroups();
  /// process_event, in the next group of the tenant.
  EventResponse process(const std::string& tenant_id, const nlohmann::json& body,
                        const std::string& header_key, const Actor& actor);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Evaluates an event against current data without writing anything, through the same stages
/// as process_event (evaluation, caps and cooldowns, budget, stock and pool room) with a writer
/// that writes nothing: {"customer_known", "rules": [each rule evaluated: rule_id, rule,
/// priority, matches, and for a match would_issue and else reason], "would_issue": [rule_id,
/// rule, reward_id], "not_issued": [as process_event's answer would list them]}. The customer
/// must exist unless auto-enrolment is on (then it is treated as new); the errors are
/// process_event's, but for the idempotency key, which is not needed.
nlohmann::json simulate_event(db::Database& db, const std::string& tenant_id,
                              const nlohmann::json& body);

/// As simulate_event, with `rules` (the rule builder's draft, from rulesets::resolve_draft) in
/// place of the tenant's active rules: evaluated as if they were in play, whatever their active
/// flags and dates say.
nlohmann::json simulate_event(db::Database& db, const std::string& tenant_id,
                              const nlohmann::json& body,
                              const std::vector<rulesets::ActiveRule>& rules);

/// A stored event as JSON, with its issuances as they are now (their codes as `codes` says)
/// and why matching rules did not issue. Error(not_found).
nlohmann::json get_event(db::Database& db, const std::string& tenant_id, const std::string& id,
                         issuances::CodeView codes = issuances::CodeView::clear);

struct EventFilter {
  std::string customer_id;
  std::string type;
  std::string from;  ///< RFC 3339, inclusive (occurred_at)
  std::string to;    ///< exclusive
};

/// A page of events, newest first, each as get_event shows it.
Page<nlohmann::json> list_events(db::Database& db, const std::string& tenant_id,
                                 const EventFilter& filter, const PageRequest& page,
                                 issuances::CodeView codes = issuances::CodeView::clear);

}  // namespace loyalty::events
