#pragma once
// Private: the stages of an event that decide its rewards — evaluate the rules, check caps and
// cooldowns, reserve budget, stock and codes, write the issuances — shared by the pipeline
// (pipeline.cpp) and by `rules simulate` (simulate.cpp). What differs between the two is only
// the IssuanceWriter: the pipeline's writes, the simulation's writes nothing, so the two cannot
// disagree on what an event would be given.

#include "db/tx.hpp"
#include "events/cache.hpp"
#include "events/customer_view.hpp"
#include "events/request.hpp"
#include "rewards/issuing.hpp"

#include <loyalty/issuances/issuances.hpp>
#include <loyalty/metrics/counters.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace loyalty::events {

class GroupWrites;

/// What the stages know of one event, passed from each to the next.
struct EventContext {
  std::string tenant_id;
  EventRequest request;
  std::shared_ptr<const RulesCache::Entry> tenant;  ///< its rules, settings, time zone, status
  CustomerView customer;                            ///< resolved (and locked) by stage 3
  bool enrolled_now = false;                        ///< this event enrolled the customer
  std::string event_id;  ///< claimed by stage 2 (a simulation's is the nil uuid)
  /// The event's group (group.hpp): what its earlier events reserved and answered, not yet
  /// written. Null for a simulation.
  const GroupWrites* group = nullptr;
};

/// One rule evaluated for the event, and what came of it.
struct RuleOutcome {
  std::size_t index = 0;  ///< into tenant->rules and tenant->compiled
  const rulesets::ActiveRule* rule = nullptr;
  bool matched = false;
  std::string reason;           ///< why a matching rule gives nothing; empty while it may
  rewards::IssuingTerms terms;  ///< read by the reserve stage
  std::optional<issuances::Issuance> issuance;  ///< created by the pipeline's writer
};

/// The rules' part of an event.
struct RulesOutcome {
  /// Why no rule was evaluated ("customer_not_active", "tenant_suspended"), or empty.
  std::string not_applied;
  std::vector<RuleOutcome> rules;  ///< every rule evaluated, in priority order
  std::array<std::uint64_t, metrics::kRuleEvaluationNames.size()> evaluations{};
};

/// Where the stages' writes go.
class IssuanceWriter {
 public:
  virtual ~IssuanceWriter() = default;
  /// Serializes the events of a rule with a global cap until the commit.
  virtual void lock_rule(db::Tx& tx, const std::string& rule_id) = 0;
  /// Creates the reserved issuance of a rule that has room to issue; sets `outcome.reason` when
  /// it cannot be created after all (the pool emptied meanwhile).
  virtual void create(db::Tx& tx, const EventContext& ctx, RuleOutcome& outcome) = 0;
};

/// Stage 4, evaluate: why the event's customer or tenant gets no rule evaluated, or else the
/// tenant's active rules for the event type in priority order, against data prepared once (the
/// customer's history read only as far as a rule asks), up to a matching stop_processing rule.
RulesOutcome evaluate_rules(db::Tx& tx, const EventContext& ctx);

/// Stage 5, caps and cooldowns: sets the reason of each matching rule whose per-customer cap,
/// global cap or cooldown is reached. A global cap is counted under the writer's rule lock.
void check_caps(db::Tx& tx, const EventContext& ctx, IssuanceWriter& writer,
                std::vector<RuleOutcome>& rules);

/// What the reserve stage read: each reward's terms and stock, each budget's room.
class Reservations {
 public:
  /// Stage 6, reserve budget, stock and codes (the reads): the terms of the matching rules'
  /// rewards and the room of their budgets, one statement each, less what the earlier events
  /// of the group took. Error(not_found) for a budget
  /// that is gone; Error(invalid, "currency-mismatch") for a reward in another currency than
  /// its budget.
  static Reservations read(db::Tx& tx, const EventContext& ctx, std::vector<RuleOutcome>& rules);
  /// Whether the rule's issuance fits what is left (stock, pool, budget), counting it if so;
  /// else sets its reason. Called in priority order.
  bool take(RuleOutcome& outcome);
  /// Gives back what take counted for an issuance that was not created after all.
  void give_back(const RuleOutcome& outcome);

 private:
  std::map<std::string, std::optional<MinorUnits>> budget_room_;  ///< none: no hard cap
  std::map<std::string, std::int64_t> stock_taken_;
};

/// Stage 7, write the issuances: for each matching rule in priority order whose caps allow it,
/// takes its reservation and has the writer create its issuance.
void write_issuances(db::Tx& tx, const EventContext& ctx, IssuanceWriter& writer,
                     Reservations& reservations, std::vector<RuleOutcome>& rules);

/// Stages 4 to 7 in order: what the pipeline and `rules simulate` both run.
RulesOutcome decide_rewards(db::Tx& tx, const EventContext& ctx, IssuanceWriter& writer);

/// The answer's `not_issued`: {"reason"} when no rule applied, else {"rule_id", "rule",
/// "reason"} for each matching rule that gave nothing.
nlohmann::json not_issued_json(const RulesOutcome& outcome);

}  // namespace loyalty::events
