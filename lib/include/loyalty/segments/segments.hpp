#pragma once
// Segments of a tenant's customers: a name and a JsonLogic condition over the customer and their
// history (the rules engine's language and loyalty operators), e.g.
//
//   {"name": "regulars", "conditions": {">=": [{"event_count": ["purchase", 30]}, 4]}}
//
// A customer's membership is kept in their `segments` (which rules test with `in_segment`),
// recomputed when their profile changes (in the same transaction), after their events (by the
// worker), for every customer when a segment is saved (by the worker), and by
// `loyaltyctl segments recompute`.

#include <loyalty/core/actor.hpp>
#include <loyalty/core/page.hpp>
#include <loyalty/customers/customers.hpp>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>

namespace loyalty::db {
class Database;
}

namespace loyalty::jobs {
class Worker;
}

namespace loyalty::segments {

struct Segment {
  std::string id;
  std::string name;
  std::string description;
  nlohmann::json conditions;
  std::string created_at, updated_at;
};

/// Creates a segment from {name, description?, conditions} and queues the recompute of every
/// customer's membership. Error(invalid) listing every problem (the condition's with their JSON
/// pointers under /conditions, as rule validation reports them); Error(conflict,
/// "segment-exists") when the name is taken.
Segment create_segment(db::Database& db, const std::string& tenant_id, const nlohmann::json& body,
                       const Actor& actor);

/// The segment by id (or by name). Error(not_found).
Segment get_segment(db::Database& db, const std::string& tenant_id, const std::string& id_or_name);

/// A page of the tenant's segments, by name.
Page<Segment> list_segments(db::Database& db, const std::string& tenant_id,
                            const PageRequest& page);

/// Replaces a segment's name, description and conditions (validated as create_segment does); a
/// rename renames it in its members' segments. Queues the recompute of every customer.
Segment update_segment(db::Database& db, const std::string& tenant_id,
                       const std::string& id_or_name, const nlohmann::json& body,
                       const Actor& actor);

/// Deletes a segment and takes its name out of its members' segments, in one transaction.
void delete_segment(db::Database& db, const std::string& tenant_id, const std::string& id_or_name,
                    const Actor& actor);

/// A page of the segment's members, oldest customer first (as the customer list).
Page<customers::Customer> segment_members(db::Database& db, const std::string& tenant_id,
                                          const std::string& id_or_name, const PageRequest& page);

struct RecomputeReport {
  std::size_t customers = 0;  ///< evaluated
  std::size_t changed = 0;    ///< whose segments changed
  std::size_t batches = 0;    ///< transactions
};

/// Recomputes every customer's segments, `batch` customers per transaction (each committed on
/// its own: a failure leaves the batches before it done).
RecomputeReport recompute_segments(db::Database& db, const std::string& tenant_id,
                                   std::size_t batch = 500);

/// Recomputes one customer's segments now. Error(not_found).
customers::Customer recompute_customer(db::Database& db, const std::string& tenant_id,
                                       const std::string& customer_id);

/// Registers the worker's handlers of the segment jobs (after events, after a segment changed).
void register_handlers(jobs::Worker& worker);

nlohmann::json to_json(const Segment& segment);
nlohmann::json to_json(const RecomputeReport& report);

}  // namespace loyalty::segments
