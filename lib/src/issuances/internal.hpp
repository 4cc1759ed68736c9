#pragma once
// Private: issuance operations inside a caller's transaction (the event pipeline's).

#include "db/tx.hpp"

#include <loyalty/issuances/issuances.hpp>

#include <map>
#include <vector>

namespace loyalty::issuances {

/// The issuance as the API shows it. Error(not_found).
Issuance load_in(db::Tx& tx, const std::string& tenant_id, const std::string& id);

/// The issuances of some events as they are now, keyed by event id (creation order within each).
std::map<std::string, std::vector<Issuance>> load_for_events(db::Tx& tx,
                                                             const std::string& tenant_id,
                                                             const std::vector<std::string>& ids);

/// reserved -> issued for the reserved issuances of some events, in the caller's transaction:
/// budgets charged, points credited, `reward.issued` outbox rows and customer notifications
/// written. Returns how many were issued (0 when a job runs again after it did its work).
int issue_events(db::Tx& tx, const std::string& tenant_id,
                 const std::vector<std::string>& event_ids);

/// reserved|issued -> cancelled with its budget released, in the caller's transaction.
Issuance cancel_in(db::Tx& tx, const std::string& tenant_id, const std::string& id,
                   const std::string& reason, const Actor& actor);

}  // namespace loyalty::issuances
