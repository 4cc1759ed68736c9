#pragma once
// A customer's data on request: everything held about one customer as one JSON document, and
// its irreversible erasure — personal fields removed across every table that holds them, the
// amounts the ledger needs kept, the customer marked `erased`. Both audited; erasure is
// idempotent. One transaction each.

#include <loyalty/core/actor.hpp>
#include <loyalty/customers/customers.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace loyalty::db {
class Database;
}

namespace loyalty::customers {

/// The customer's id from an id or a phone number (any spelling normalize_phone takes).
/// Error(not_found) unless the tenant has such a customer.
std::string resolve_customer(db::Database& db, const std::string& tenant_id,
                             const std::string& id_or_phone);

/// {"format": "loyalty.customer-export/1", "exported_at", "customer", "consent_history",
///  "events", "issuances", "points", "notices", "channel_sessions"}; one-time PINs are left out.
nlohmann::json export_customer(db::Database& db, const std::string& tenant_id,
                               const std::string& customer_id, const Actor& actor);

/// Removes the phone, external reference, attributes, tags, segments, birthday, consent and
/// language; clears the data of the customer's events (and, in the answers stored for
/// idempotent retries, the customer and the event's data) and the payloads of their notices;
/// removes their channel sessions and the external reference from messages about them; sets
/// status `erased`. Points, issuances, amounts and ledger movements stay. A second call changes
/// nothing.
Customer erase_customer(db::Database& db, const std::string& tenant_id,
                        const std::string& customer_id, const Actor& actor);

}  // namespace loyalty::customers
