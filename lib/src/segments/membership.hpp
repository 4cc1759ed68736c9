#pragma once
// Private: a customer's segment membership, recomputed inside the transaction of the change that
// calls for it (a profile patch, a batch of `segments recompute`, the worker's job after events).

#include "db/tx.hpp"

#include <loyalty/rules/engine.hpp>

#include <string>
#include <vector>

namespace loyalty::segments {

/// Kind of the job that recomputes one customer's segments (payload {"customer_id": ...}); one
/// pending per customer is enough (queue_customer queues no second).
inline constexpr const char* kCustomerJob = "segments.customer";
/// Kind of the job that recomputes every customer of a tenant after a segment changed.
inline constexpr const char* kTenantJob = "segments.tenant";

/// A tenant's segments compiled once for any number of customers, in name order.
struct CompiledSegments {
  std::string timezone;
  std::vector<std::string> names;
  rules::RuleSet conditions;  ///< index-aligned with names
};

/// The tenant's segments, compiled (their conditions were checked when saved).
CompiledSegments load_compiled(db::Tx& tx, const std::string& tenant_id);

/// Recomputes the segments of customers (each row locked FOR UPDATE): the names of the defined
/// segments a customer meets replace those they had; names no segment defines are kept. Returns
/// how many customers' segments changed. Customers erased or unknown are skipped.
std::size_t recompute_customers(db::Tx& tx, const std::string& tenant_id,
                                const std::vector<std::string>& customer_ids,
                                const CompiledSegments& segments);

/// Queues the job that recomputes a customer's segments once the caller's transaction commits
/// (nothing when one is pending already). For the event pipeline, for tenants with segments.
void queue_customer(db::Tx& tx, const std::string& tenant_id, const std::string& customer_id);

/// Queues the job that recomputes every customer of the tenant (nothing when one is pending).
void queue_tenant(db::Tx& tx, const std::string& tenant_id);

}  // namespace loyalty::segments
