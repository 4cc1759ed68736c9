// Group commit: the events of a tenant that arrive while its groups are running wait, and go
// together into the next group. No thread of its own: the caller whose event is waiting when a
// lane frees leads the next group (taking the oldest waiting events, its own among them unless
// more than a group's worth were waiting before it) and runs it on its own thread; the others
// sleep until their group has committed.
#include "events/pipeline.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_map>

namespace loyalty::events {

namespace {

struct Waiting {
  PendingEvent* event;
  bool taken = false;     ///< in a group that is running
  bool answered = false;  ///< its group has ended
};

struct TenantQueue {
  std::deque<Waiting*> waiting;
  std::size_t running = 0;  ///< groups running
  std::size_t callers = 0;  ///< callers inside process(), who keep this entry
};

}  // namespace

struct EventGroups::State {
  db::Database& db;
  RulesCache& cache;
  Options options;
  std::mutex mutex;
  std::condition_variable ended;  ///< a group ended: its events are answered, a lane is free
  std::unordered_map<std::string, TenantQueue> tenants;
};

EventGroups::EventGroups(db::Database& db, RulesCache& cache, Options options)
    : state_(new State{db, cache, options, {}, {}, {}}) {
  if (state_->options.max_group == 0) state_->options.max_group = 1;
  if (state_->options.lanes == 0) state_->options.lanes = 1;
}

EventGroups::~EventGroups() = default;

EventResponse EventGroups::process(const std::string& tenant_id, const nlohmann::json& body,
                                   const std::string& header_key, const Actor& actor) {
  auto& s = *state_;
  PendingEvent event;
  event.actor = actor;
  try {
    event.parsed = parse_request(s.db, s.cache, tenant_id, body, header_key);  // stage 1
  } catch (...) {
    count_rejected(std::current_exception());  // before it could join a group
    throw;
  }
  Waiting me{&event};
  std::unique_lock lock(s.mutex);
  auto& queue = s.tenants[tenant_id];  // a node's address outlives rehashing
  ++queue.callers;
  queue.waiting.push_back(&me);
  while (!me.answered) {
    if (me.taken || queue.running >= s.options.lanes) {
      s.ended.wait(lock);
      continue;
    }
    std::vector<Waiting*> group;
    while (!queue.waiting.empty() && group.size() < s.options.max_group) {
      group.push_back(queue.waiting.front());
      queue.waiting.pop_front();
      group.back()->taken = true;
    }
    ++queue.running;
    lock.unlock();
    std::vector<PendingEvent*> events;
    events.reserve(group.size());
    for (auto* w : group) events.push_back(w->event);
    process_group(s.db, tenant_id, events);
    lock.lock();
    --queue.running;
    for (auto* w : group) w->answered = true;
    s.ended.notify_all();
  }
  if (--queue.callers == 0) s.tenants.erase(tenant_id);
  lock.unlock();
  if (event.error) std::rethrow_exception(event.error);
  return std::move(event.response);
}

}  // namespace loyalty::events
