#pragma once
// Private: issuance operations inside a caller's transaction (the event pipeline's).

#include "db/tx.hpp"

#include <loyalty/issuances/issuances.hpp>

#include <map>
#include <vector>

namespace loyalty::issuances {

#define LOYALTY_TS(col) \
  "coalesce(to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')"

/// The select list that row_to_issuance reads: an issuance `i` joined with its reward `r`.
inline constexpr const char* kIssuanceColumns =
    "i.id::text, i.customer_id::text, coalesce(i.event_id::text, ''), coalesce(i.rule_id::text, "
    "''), i.reward_id::text, r.name, r.type, coalesce(i.budget_id::text, ''), i.state, "
    "i.cost_minor, i.currency, coalesce(i.code, ''), coalesce(i.points, 0), " LOYALTY_TS(
        "i.expires_at") ", " LOYALTY_TS("i.issued_at") ", " LOYALTY_TS("i.redeemed_at") ", " LOYALTY_TS(
        "i.cancelled_at") ", " LOYALTY_TS("i.expired_at") ", "
                          "to_char(i.created_at AT TIME ZONE 'UTC', "
                          "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), r.requires_pin, i.pin_attempts";
#undef LOYALTY_TS
/// How many columns kIssuanceColumns selects.
inline constexpr int kIssuanceColumnCount = 21;

/// An issuance from a row whose first columns are kIssuanceColumns.
Issuance row_to_issuance(const pqxx::row& r);

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

/// reserved -> issued for one issuance, in the caller's transaction (its customer locked), as
/// issue_events does it. Error(conflict, "invalid-transition") when it is not reserved.
Issuance issue_in(db::Tx& tx, const std::string& tenant_id, const std::string& id);

/// reserved|issued -> cancelled with its budget released, in the caller's transaction.
Issuance cancel_in(db::Tx& tx, const std::string& tenant_id, const std::string& id,
                   const std::string& reason, const Actor& actor);

}  // namespace loyalty::issuances
