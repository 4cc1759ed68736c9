#pragma once
// The hot path: a POS event in, rewards out. One transaction per event: the customer is
// resolved (or enrolled) and locked, the event stored under its idempotency key, the tenant's
// active rules for the event type evaluated in priority order, caps and cooldowns checked,
// budgets reserved, pool codes allocated, `reserved` issuances created and the issuing job
// queued. Replays of an idempotency key answer with the original response, byte for byte.

#include <loyalty/core/actor.hpp>
#include <loyalty/core/page.hpp>
#include <loyalty/issuances/issuances.hpp>
#include <loyalty/rulesets/rulesets.hpp>
#include <nlohmann/json.hpp>

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
/// unknown customers on the fly.
EventResponse process_event(db::Database& db, RulesCache& cache, const std::string& tenant_id,
                            const nlohmann::json& body, const std::string& header_key,
                            const Actor& actor);

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
