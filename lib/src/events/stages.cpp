// The stages that decide an event's rewards, for the pipeline and `rules simulate` alike.
#include "events/stages.hpp"

#include "budgets/ledger_ops.hpp"
#include "events/caps.hpp"
#include "events/group.hpp"
#include "events/history.hpp"
#include "issuances/reserve.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/rules/engine.hpp>

#include <set>

namespace loyalty::events {

RulesOutcome evaluate_rules(db::Tx& tx, const EventContext& ctx) {
  RulesOutcome out;
  // A refund evaluates no rules: it takes back what its original event gave (refund.cpp).
  if (ctx.request.type == "refund") return out;
  if (ctx.customer.status != "active") {
    out.not_applied = "customer_not_active";
    return out;
  }
  if (!ctx.tenant->active) {
    out.not_applied = "tenant_suspended";
    return out;
  }
  const auto& rules = *ctx.tenant->rules;
  const auto& compiled = *ctx.tenant->compiled;
  auto data = compiled.prepare(rule_data(ctx.request, ctx.customer.view));
  DbHistory history(tx, ctx.tenant_id, ctx.customer.id, ctx.event_id, ctx.customer.occurred_utc,
                    ctx.tenant->timezone, ctx.customer.view, ctx.customer.local_time);
  thread_local rules::Evaluator evaluator;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const auto& rule = rules[i];
    if (rule.definition.event_type != ctx.request.type) continue;
    RuleOutcome outcome;
    outcome.index = i;
    outcome.rule = &rule;
    outcome.matched = evaluator.matches(compiled[i], data, &history);
    using metrics::RuleEvaluation;
    auto counted = evaluator.outcome() != rules::Outcome::ok ? RuleEvaluation::error
                   : outcome.matched                         ? RuleEvaluation::matched
                                                             : RuleEvaluation::not_matched;
    ++out.evaluations[static_cast<std::size_t>(counted)];
    out.rules.push_back(std::move(outcome));
    if (out.rules.back().matched && rule.definition.stop_processing) break;
  }
  return out;
}

void check_caps(db::Tx& tx, const EventContext& ctx, IssuanceWriter& writer,
                std::vector<RuleOutcome>& rules) {
  const auto& tz = ctx.tenant->timezone;
  for (auto& outcome : rules) {
    if (!outcome.matched) continue;
    const auto& rule = *outcome.rule;
    const auto& caps = rule.definition.caps;
    if (!caps.per_customer && !caps.global && !caps.cooldown) continue;
    if (caps.global) writer.lock_rule(tx, rule.id);
    issuances::CustomerCapCounts mine;
    if (caps.per_customer || caps.cooldown) {
      mine = issuances::count_customer_caps(tx, ctx.tenant_id, rule.id, ctx.customer.id,
                                            cap_period_sql_name(caps.per_customer), tz,
                                            caps.cooldown.value_or(0));
    }
    if (caps.per_customer && mine.in_period >= caps.per_customer->max) {
      outcome.reason = "per_customer_cap";
    } else if (caps.global && issuances::count_rule_issuances(tx, ctx.tenant_id, rule.id,
                                                              cap_period_sql_name(caps.global),
                                                              tz) >= caps.global->max) {
      outcome.reason = "global_cap";
    } else if (caps.cooldown && *caps.cooldown > 0 && mine.cooling) {
      outcome.reason = "cooldown";
    }
  }
}

Reservations Reservations::read(db::Tx& tx, const EventContext& ctx,
                                std::vector<RuleOutcome>& rules) {
  std::set<std::string> reward_ids, budget_ids;
  for (const auto& outcome : rules) {
    if (!outcome.matched || !outcome.reason.empty()) continue;
    reward_ids.insert(outcome.rule->reward_id);
    if (outcome.rule->budget_id) budget_ids.insert(*outcome.rule->budget_id);
  }
  auto terms =
      rewards::read_issuing_terms(tx, ctx.tenant_id, {reward_ids.begin(), reward_ids.end()});
  auto rooms = budgets::read_room(tx, ctx.tenant_id, {budget_ids.begin(), budget_ids.end()});
  Reservations out;
  for (auto& outcome : rules) {
    if (!outcome.matched || !outcome.reason.empty()) continue;
    auto found = terms.find(outcome.rule->reward_id);
    if (found == terms.end()) {
      outcome.reason = "reward_missing";
      continue;
    }
    outcome.terms = found->second;
    const auto& reward_id = outcome.rule->reward_id;
    if (outcome.terms.stock && ctx.group && !out.stock_taken_.count(reward_id)) {
      out.stock_taken_[reward_id] = ctx.group->stock_taken(reward_id);
    }
    if (!outcome.rule->budget_id) continue;
    const auto& budget_id = *outcome.rule->budget_id;
    auto room = rooms.find(budget_id);
    if (room == rooms.end()) throw_not_found("budget '" + budget_id + "'");
    if (room->second.currency != outcome.terms.currency) {
      throw Error(ErrorCode::invalid, "currency-mismatch",
                  "the budget is not in " + outcome.terms.currency +
                      ": a reward's cost must be in its budget's currency");
    }
    auto available = room->second.available;
    if (available && ctx.group) *available -= ctx.group->budget_taken(budget_id);
    out.budget_room_[budget_id] = available;
  }
  return out;
}

bool Reservations::take(RuleOutcome& outcome) {
  const auto& terms = outcome.terms;
  const auto& reward_id = outcome.rule->reward_id;
  // In the order the pipeline has always answered: the pool, then stock, then the budget.
  if (terms.pooled && !terms.code_available) {
    outcome.reason = "pool_empty";
  } else if (terms.stock && stock_taken_[reward_id] >= *terms.stock) {
    outcome.reason = "out_of_stock";
  } else if (outcome.rule->budget_id) {
    auto& room = budget_room_[*outcome.rule->budget_id];
    if (room && *room < terms.cost_minor) outcome.reason = "budget_exhausted";
  }
  if (!outcome.reason.empty()) return false;
  if (terms.stock) ++stock_taken_[reward_id];
  if (outcome.rule->budget_id) {
    auto& room = budget_room_[*outcome.rule->budget_id];
    if (room) *room -= terms.cost_minor;
  }
  return true;
}

void Reservations::give_back(const RuleOutcome& outcome) {
  if (outcome.terms.stock) --stock_taken_[outcome.rule->reward_id];
  if (outcome.rule->budget_id) {
    auto& room = budget_room_[*outcome.rule->budget_id];
    if (room) *room += outcome.terms.cost_minor;
  }
}

void write_issuances(db::Tx& tx, const EventContext& ctx, IssuanceWriter& writer,
                     Reservations& reservations, std::vector<RuleOutcome>& rules) {
  for (auto& outcome : rules) {
    if (!outcome.matched || !outcome.reason.empty()) continue;
    if (!reservations.take(outcome)) continue;
    writer.create(tx, ctx, outcome);
    if (!outcome.reason.empty()) reservations.give_back(outcome);
  }
}

RulesOutcome decide_rewards(db::Tx& tx, const EventContext& ctx, IssuanceWriter& writer) {
  auto outcome = evaluate_rules(tx, ctx);  // 4
  if (outcome.rules.empty()) return outcome;
  check_caps(tx, ctx, writer, outcome.rules);                      // 5
  auto reservations = Reservations::read(tx, ctx, outcome.rules);  // 6
  write_issuances(tx, ctx, writer, reservations, outcome.rules);   // 7
  return outcome;
}

nlohmann::json not_issued_json(const RulesOutcome& outcome) {
  auto out = nlohmann::json::array();
  if (!outcome.not_applied.empty()) out.push_back({{"reason", outcome.not_applied}});
  for (const auto& r : outcome.rules) {
    if (!r.matched || r.reason.empty()) continue;
    out.push_back(
        {{"rule_id", r.rule->id}, {"rule", r.rule->definition.name}, {"reason", r.reason}});
  }
  return out;
}

}  // namespace loyalty::events
