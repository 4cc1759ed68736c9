#pragma once
// The channel-neutral self-service core: what a customer can do from their own phone — join
// (consent recorded with its channel and time), see their points and rewards, get a fresh PIN
// for a reward, opt out, choose a language. WhatsApp and USSD only translate between these and
// their wire formats. Each operation is one transaction under the tenant's row-level security.

#include <loyalty/core/actor.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace loyalty::db {
class Database;
}

namespace loyalty::selfservice {

/// A fresh PIN's life.
inline constexpr std::chrono::seconds kPinValidity{300};

/// The tenant as its customers see it.
struct Merchant {
  std::string tenant_id;
  std::string name;
  std::string language;  ///< settings.language, else en
};

Merchant merchant(db::Database& db, const std::string& tenant_id);

/// The customer behind a phone number, if any.
struct Member {
  std::string customer_id;
  std::string status;    ///< active | suspended | opted_out
  std::string language;  ///< theirs, else the merchant's
  long long points = 0;
  std::string referral_code;  ///< theirs, to give to friends
};

std::optional<Member> find_member(db::Database& db, const Merchant& m, const std::string& phone);

/// Enrols the phone (E.164) with consent given on `channel` now, or — for one who opted out —
/// gives consent again and makes them active; a member already active stays as they are. A
/// new customer is reported (`customer.enrolled` webhook) like any enrolment. A new customer
/// who gives a `referral_code` is linked to its owner (referrals.hpp); a code that is not the
/// merchant's is left out, the customer joins all the same, and `code_refused` says so. The code
/// counts only when the customer is new.
Member join(db::Database& db, const Merchant& m, const std::string& phone,
            const std::string& channel, const std::string& referral_code = {},
            bool* code_refused = nullptr);

/// Status opted_out, consent withdrawn; audited.
void opt_out(db::Database& db, const Merchant& m, const std::string& customer_id,
             const std::string& channel);

void set_language(db::Database& db, const Merchant& m, const std::string& customer_id,
                  const std::string& language);

struct Points {
  long long balance = 0;
  long long expiring = 0;   ///< of them, how many expire first (within 30 days)
  std::string expiring_on;  ///< YYYY-MM-DD in the tenant's time zone, or empty
};

Points points(db::Database& db, const Merchant& m, const std::string& customer_id);

/// An issued reward the customer can use at the till, soonest to expire first.
struct Reward {
  std::string issuance_id;
  std::string name;
  std::string code;        ///< voucher code, or empty
  std::string expires_on;  ///< YYYY-MM-DD in the tenant's time zone, or empty
  bool pin_required = false;
};

std::vector<Reward> rewards(db::Database& db, const Merchant& m, const std::string& customer_id);

/// A reward of the catalogue the customer can claim with points now (active, in its dates, in
/// stock, with a code left), cheapest first.
struct Offer {
  std::string reward_id;
  std::string name;
  long long points_price = 0;
};

std::vector<Offer> offers(db::Database& db, const Merchant& m);

/// What a claim answered: the reward now the customer's, the points it cost and those left;
/// or, when it could not be claimed, why (`refused`: "insufficient-points", "out-of-stock",
/// "pool-empty", "budget-exhausted", "reward-not-available", "not-claimable-with-points",
/// "points-changed": the balance is no longer `if_balance`), with the balance now.
struct Claimed {
  std::optional<Reward> reward;
  long long points_spent = 0;
  long long balance = 0;
  std::string refused;
};

/// Claims the reward with its points price (points::claim_reward: one transaction, points
/// never below zero), audited as the customer on `channel`; with `if_balance`, only if the
/// balance is still the one the customer confirmed against.
Claimed claim(db::Database& db, const Merchant& m, const std::string& customer_id,
              const std::string& reward_id, const std::string& channel,
              std::optional<long long> if_balance = std::nullopt);

/// A new one-time PIN for one of the customer's rewards (kPinValidity), kept only hashed.
std::string fresh_pin(db::Database& db, const Merchant& m, const std::string& customer_id,
                      const std::string& issuance_id, const std::string& channel);

}  // namespace loyalty::selfservice
