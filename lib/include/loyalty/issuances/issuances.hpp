#pragma once
// Issuances: the rewards rules gave, and their lifecycle
//   reserved -> issued -> redeemed;  reserved|issued -> cancelled;  issued -> expired.
// Every transition is one conditional UPDATE (the state is checked in the WHERE), so of two
// concurrent attempts exactly one succeeds; the loser gets Error(conflict, "invalid-transition")
// naming the current state. Budget movements go with each transition: charge on issue, spend on
// redemption, release on cancel and expiry.

#include <loyalty/core/actor.hpp>
#include <loyalty/core/page.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace loyalty::db {
class Database;
}

namespace loyalty::issuances {

struct Issuance {
  std::string id;
  std::string customer_id;
  std::string event_id;
  std::string rule_id;
  std::string reward_id;
  std::string reward_name;
  std::string reward_type;
  std::string budget_id;
  std::string state;
  long long cost_minor = 0;
  std::string currency;
  std::string code;  ///< voucher code, or empty
  long long points = 0;
  std::string expires_at;
  std::string issued_at;
  std::string redeemed_at;
  std::string cancelled_at;
  std::string expired_at;
  std::string created_at;
  bool pin_required = false;  ///< the reward is redeemed with a one-time PIN
  int pin_attempts = 0;       ///< wrong PINs so far (five lock it)
};

/// How voucher codes are shown. Admins and managers read them in clear; viewers and POS keys
/// see them masked (a till redeems by the code the customer shows, it never needs to browse
/// codes), except in the answer to the event that issued them.
enum class CodeView { clear, masked };

/// A code as CodeView::masked shows it: "DEMO-6K3Y78MR" -> "*********78MR". Codes of 8
/// characters or more keep their last 4, shorter ones keep none.
std::string mask_code(std::string_view code);

/// The issuance as the API shows it, its code as `view` says.
nlohmann::json to_json(const Issuance& issuance, CodeView view = CodeView::clear);

/// Error(not_found) unless the issuance is the tenant's.
Issuance get_issuance(db::Database& db, const std::string& tenant_id, const std::string& id);

struct IssuanceFilter {
  std::string customer_id;
  std::string state;
  std::string event_id;
  std::string reward_id;
};

/// A page of issuances, newest first.
Page<Issuance> list_issuances(db::Database& db, const std::string& tenant_id,
                              const IssuanceFilter& filter, const PageRequest& page);

/// A new one-time PIN for an issued, unexpired reward of this customer that needs one, valid
/// for `validity`: it replaces the PIN sent at issue and clears the wrong attempts (only the
/// customer's own phone asks for one). Audited; the PIN itself is kept only hashed.
/// Error(not_found) unless such a reward exists.
std::string fresh_pin(db::Database& db, const std::string& tenant_id,
                      const std::string& customer_id, const std::string& issuance_id,
                      std::chrono::seconds validity, const Actor& actor);

/// issued -> redeemed, checking expiry and, for vouchers, the code when one is given. A reward
/// that requires a PIN is redeemed only with the one-time PIN the worker sent the customer when
/// it issued it. Error(conflict, "invalid-transition") with the current state; Error(conflict,
/// "issuance-expired"); Error(invalid, "code-mismatch"); Error(invalid, "pin-required");
/// Error(invalid, "pin-mismatch") with attempts_left (the attempt is counted and committed);
/// Error(conflict, "pin-locked") after five wrong PINs; Error(conflict, "pin-expired") for a
/// fresh PIN past its minutes.
Issuance redeem(db::Database& db, const std::string& tenant_id, const std::string& id,
                const std::optional<std::string>& code, const std::optional<std::string>& pin,
                const Actor& actor);

/// Redeems the issuance holding a voucher code (what a till does). Distinct problems:
/// Error(not_found, "unknown-code"), Error(conflict, "code-expired"),
/// Error(conflict, "code-already-redeemed"), Error(conflict, "code-not-redeemable") (cancelled
/// or not yet issued); and the PIN problems of redeem() when the reward requires a PIN.
Issuance redeem_by_code(db::Database& db, const std::string& tenant_id, const std::string& code,
                        const std::optional<std::string>& pin, const Actor& actor);

/// reserved|issued -> cancelled, releasing its budget (and returning its pool code and stock).
Issuance cancel(db::Database& db, const std::string& tenant_id, const std::string& id,
                const std::string& reason, const Actor& actor);

/// Counts of an expiry run.
struct ExpiryReport {
  long long issuances_expired = 0;
  long long points_expired = 0;   ///< points debited
  long long points_entries = 0;   ///< points ledger entries that expired
  long long rewards_warned = 0;   ///< "expires soon" notices queued for rewards
  long long points_warned = 0;    ///< "points expire soon" notices queued (one a customer)
  long long points_released = 0;  ///< pending points whose returns window ended, now spendable
  bool dry_run = false;
};

/// The most days ahead a customer can be warned of an expiry.
inline constexpr int kMaxWarnDays = 60;

/// Expires what is past its time in one tenant: issued issuances past expires_at -> expired
/// (budget released, reward.expired queued); points entries past their expiry are debited (never
/// below zero). Idempotent; safe to run concurrently with itself and the daemon (rows are claimed
/// with SKIP LOCKED). Then, with warn_days > 0, customers who consented are told (a notice on
/// their channel) of each open reward, and of their points, that expire within warn_days days —
/// once per reward and per points entry. With dry_run, counts only.
ExpiryReport expire_due(db::Database& db, const std::string& tenant_id, bool dry_run,
                        int warn_days = 0);

/// Issues every reserved issuance of an event: reserved -> issued, budget charged, points
/// credited, a one-time PIN set when the reward requires one, reward.issued queued, the
/// customer's notification (with the code and PIN) queued. Idempotent (issuances
/// already issued are skipped). Returns how many were issued. Used by the worker.
int issue_event(db::Database& db, const std::string& tenant_id, const std::string& event_id);

}  // namespace loyalty::issuances
