#pragma once
// Customers of a tenant: enrolment (phone in E.164, or an external reference), lookup,
// search, status changes.

#include <loyalty/core/actor.hpp>
#include <loyalty/core/page.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace loyalty::db {
class Database;
}

namespace loyalty::customers {

struct Customer {
  std::string id;
  std::string phone;         ///< E.164, or empty
  std::string external_ref;  ///< or empty
  std::string status;        ///< active | suspended | opted_out
  std::string consent_at;
  std::string consent_channel;
  nlohmann::json attributes = nlohmann::json::object();
  std::vector<std::string> tags;
  std::vector<std::string> segments;
  std::string birthday;              ///< YYYY-MM-DD or empty
  std::string language;              ///< preferred language (en, sn, nd) or empty: the tenant's
  long long points_balance = 0;      ///< spendable: held outside pending lots
  long long points_pending = 0;      ///< held in pending lots (the tenant's returns window)
  std::string points_pending_until;  ///< RFC 3339 (UTC): the first pending lot's due time, or empty
  std::string referral_code;        ///< theirs, to give to friends (referrals)
  std::optional<std::string> tier;  ///< the name of their tier (tiers.hpp), none without one
  std::string enrolled_at;
  std::string created_at;
};

/// A new customer as the API and CLI take it (raw phone text is normalised here).
struct NewCustomer {
  std::optional<std::string> phone;
  std::optional<std::string> external_ref;
  nlohmann::json attributes = nlohmann::json::object();
  std::vector<std::string> tags;
  std::vector<std::string> segments;
  std::optional<std::string> birthday;
  std::optional<std::string> referral_code;  ///< the code of the customer who referred them
  bool consent = false;
  std::string channel = "api";  ///< pos | whatsapp | ussd | web | api
};

/// Enrols a customer and queues a `customer.enrolled` webhook in the same transaction.
/// Error(invalid) listing every bad field (phone not a valid number, neither phone nor
/// external_ref, bad birthday); Error(conflict, "customer-exists") with extension
/// "existing_id" when the phone or external ref is taken in this tenant. With a referral_code,
/// the customer is linked to its owner in the same transaction (referrals.hpp), or not created:
/// Error(invalid, "unknown-referral-code").
Customer create_customer(db::Database& db, const std::string& tenant_id, const NewCustomer& c,
                         const Actor& actor);

/// Error(not_found) unless the customer exists in this tenant.
Customer get_customer(db::Database& db, const std::string& tenant_id, const std::string& id);

/// Filters of the customer list; every one optional.
struct CustomerFilter {
  std::string phone;  ///< normalised before matching
  std::string external_ref;
  std::string status;
  std::string segment;  ///< members of the segment of this name
};

/// A page of customers, oldest first (stable: created_at, id).
Page<Customer> list_customers(db::Database& db, const std::string& tenant_id,
                              const CustomerFilter& filter, const PageRequest& page);

/// Sets the status (active, suspended, opted_out). Opting out withdraws consent.
Customer set_customer_status(db::Database& db, const std::string& tenant_id, const std::string& id,
                             const std::string& status, const Actor& actor);

/// A change to a customer's profile (PATCH .../customers/:id); a field left out stays as it is.
struct CustomerPatch {
  /// A JSON merge patch (RFC 7386) applied to the attributes: a null member removes that key.
  std::optional<nlohmann::json> attributes;
  std::optional<std::vector<std::string>> tags;        ///< replaces every tag
  std::vector<std::string> add_tags;                   ///< merged into the tags the customer has
  std::vector<std::string> remove_tags;                ///< taken out of them
  std::optional<std::optional<std::string>> birthday;  ///< YYYY-MM-DD, or null to clear
  std::optional<std::optional<std::string>> language;  ///< en | sn | nd, or null to clear
  std::optional<bool> consent;                         ///< given (true) or withdrawn (false)
  std::string consent_channel = "api";                 ///< where: pos | whatsapp | ussd | web | api
};

/// Builds a CustomerPatch from a JSON body, collecting every field error (pointer, message).
/// `tags` is an array (replaces) or {"add": [...], "remove": [...]} (merges); `consent` is
/// {"given": bool, "channel": text}.
CustomerPatch customer_patch_from_json(const nlohmann::json& body);

/// Applies a patch in one transaction, the customer row locked, so concurrent patches of one
/// customer each see the last one's result (tags added by each are all kept). Writes an audit
/// row (action customer.update) of what changed — the language and consent with their old and
/// new values, the personal fields (attributes, tags, birthday) by name only — an entry
/// of the consent history when consent changes, and recomputes the customer's segments. A patch
/// that changes nothing writes nothing. Error(invalid) listing every bad field (nothing is
/// written); Error(not_found); Error(conflict, "customer-erased") for an erased customer.
Customer update_customer(db::Database& db, const std::string& tenant_id, const std::string& id,
                         const CustomerPatch& patch, const Actor& actor);

/// One entry of a customer's consent history.
struct ConsentChange {
  long long id = 0;
  bool given = false;
  std::string channel;
  std::string actor_type, actor_id;
  std::string at;
};

/// A page of a customer's consent history, oldest first. Error(not_found) for no such customer.
Page<ConsentChange> consent_history(db::Database& db, const std::string& tenant_id,
                                    const std::string& id, const PageRequest& page);

nlohmann::json to_json(const ConsentChange& change);

nlohmann::json to_json(const Customer& customer);

/// Builds a NewCustomer from a JSON body, collecting every field error (pointer, message).
NewCustomer new_customer_from_json(const nlohmann::json& body);

}  // namespace loyalty::customers
