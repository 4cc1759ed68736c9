// What the events of one group leave for its COMMIT.
#include "events/group.hpp"

#include "jobs/queue.hpp"
#include "rewards/issuing.hpp"

namespace loyalty::events {

MinorUnits GroupWrites::budget_taken(const std::string& budget_id) const {
  auto found = budget_taken_.find(budget_id);
  return found == budget_taken_.end() ? 0 : found->second;
}

std::int64_t GroupWrites::stock_taken(const std::string& reward_id) const {
  auto found = stock_taken_.find(reward_id);
  return found == stock_taken_.end() ? 0 : found->second;
}

const GroupAnswer* GroupWrites::answered(const std::string& idempotency_key) const {
  auto found = answers_.find(idempotency_key);
  return found == answers_.end() ? nullptr : &found->second;
}

void GroupWrites::add(const std::string& idempotency_key, const std::string& request_hash,
                      EventWrites w) {
  for (const auto& item : w.reservations) {
    auto& taken = budget_taken_[item.budget_id];
    taken = checked_add(taken, item.amount);
  }
  for (const auto& reward_id : w.stock) ++stock_taken_[reward_id];
  answers_[idempotency_key] = {request_hash, w.answer};
  std::move(w.stock.begin(), w.stock.end(), std::back_inserter(stock_));
  std::move(w.reservations.begin(), w.reservations.end(), std::back_inserter(reservations_));
  if (w.rewarded) rewarded_ids_.push_back(w.event_id);
  answered_ids_.push_back(std::move(w.event_id));
  answered_bodies_.push_back(std::move(w.answer));
}

void GroupWrites::write_with_commit(db::Tx& tx, const std::string& tenant_id) {
  if (!answered_ids_.empty()) {
    // Every event of the group processed, with the answer replays repeat, in one statement.
    tx.exec_with_commit(
        "UPDATE events e SET status = 'processed', response_status = 201, "
        "response = a.response::jsonb FROM unnest(" +
        tx.quote(db::array_literal(answered_ids_)) + "::uuid[], " +
        tx.quote(db::text_array_literal(answered_bodies_)) +
        "::text[]) AS a (id, response) WHERE e.tenant_id = " + tx.quote(tenant_id) +
        "::uuid AND e.id = a.id");
  }
  std::vector<nlohmann::json> jobs;
  jobs.reserve(rewarded_ids_.size());
  for (const auto& id : rewarded_ids_) jobs.push_back({{"event_id", id}});
  jobs::enqueue_all_with_commit(tx, tenant_id, jobs::kIssueEvent, jobs);
  // The shared rows last, so that they stay locked for no more than the COMMIT itself.
  rewards::take_stock_with_commit(tx, tenant_id, std::move(stock_));
  budgets::reserve_with_commit(tx, tenant_id, std::move(reservations_), Actor::system());
}

}  // namespace loyalty::events
