#pragma once
// Referrals: every customer has a short referral code (customers.referral_code: 8 characters of
// 23456789ABCDEFGHJKLMNPQRSTUVWXYZ, unique in the tenant, drawn at enrolment). A customer who
// joins with another's code (the API's customer creation, WhatsApp's "JOIN CODE", or later with
// link_referrer while they have no event yet) is the referee of a referral; the referee's first
// qualifying event completes it, exactly once, and the worker then processes two events through
// the rules like any other, so that merchants reward either side with ordinary rules and caps:
//
//   type "referral.completed", customer the referrer, data {"role": "referrer",
//     "referral_id", "other_customer_id": the referee}, idempotency key "referral:<id>:referrer"
//   type "referral.completed", customer the referee, data {"role": "referee", ...the referrer},
//     idempotency key "referral:<id>:referee"
//
// A qualifying event: by default the first purchase; the tenant setting "referrals" may name
// other event types ({"event_types": ["purchase", "visit"]}) and a minimum amount
// ({"min_amount": "10.00"}, compared with the event's data.amount in minor units). A
// referral.completed event never qualifies. The completion also queues the `referral.completed`
// outbox row {"referral_id", "referrer_customer_id", "referee_customer_id", "event_id"}.

#include <loyalty/core/actor.hpp>
#include <loyalty/core/page.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace loyalty::db {
class Database;
}
namespace loyalty::events {
class RulesCache;
}
namespace loyalty::jobs {
class Worker;
}

namespace loyalty::referrals {

/// Kind of the job that processes a completed referral's two events (payload {"referral_id"}).
inline constexpr const char* kCompleteJob = "referral.complete";

struct Referral {
  std::string id;
  std::string referrer_id;
  std::string referee_id;
  std::string channel;
  std::string created_at;
  std::string completed_at;         ///< empty while open
  std::string completing_event_id;  ///< empty while open
};

/// A code as a person types it, made canonical: upper case, spaces and dashes dropped.
std::string normalize_code(const std::string& code);

/// Links an existing customer to the owner of `code` (POST .../customers/:id/referrer): only
/// while the customer has no event at all. Errors: Error(not_found) for the customer;
/// Error(invalid, "unknown-referral-code") (/code); Error(invalid, "self-referral") for the
/// customer's own code; Error(conflict, "already-referred") when they have a referrer;
/// Error(invalid, "referral-too-late") once they have an event; Error(invalid, "referral-loop")
/// when the code's owner was referred, directly or along a chain, by this customer.
Referral link_referrer(db::Database& db, const std::string& tenant_id,
                       const std::string& customer_id, const std::string& code,
                       const std::string& channel, const Actor& actor);

/// Referrals of the tenant, or those where `customer_id` is either side, newest first.
Page<Referral> list_referrals(db::Database& db, const std::string& tenant_id,
                              const std::string& customer_id, const PageRequest& page);

/// What completes a referral in a tenant: the "referrals" tenant setting, defaults filled in.
struct Settings {
  std::vector<std::string> event_types{"purchase"};
  std::optional<long long> min_amount_minor;
};
Settings settings_of(const nlohmann::json& tenant_settings);
/// Stores the tenant's "referrals" setting (the operator's role: loyaltyctl). Error(invalid)
/// for an event type that is not one, or a bad amount.
Settings set_settings(db::Database& db, const std::string& tenant_id, const Settings& settings);
Settings get_settings(db::Database& db, const std::string& tenant_id);

nlohmann::json to_json(const Referral& referral);
nlohmann::json to_json(const Page<Referral>& page);
nlohmann::json to_json(const Settings& settings);

/// The referral.complete job: the two referral.completed events through events::process_events
/// with `cache`, which must outlive the worker.
void register_handlers(jobs::Worker& worker, events::RulesCache& cache);

}  // namespace loyalty::referrals
