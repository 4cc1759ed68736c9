#include "audit/audit.hpp"
#include "customers/consent.hpp"
#include "db/tx.hpp"
#include "points/lots.hpp"
#include "selfservice/internal.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/customers/customers.hpp>
#include <loyalty/issuances/issuances.hpp>
#include <loyalty/points/points.hpp>
#include <loyalty/selfservice/catalogue.hpp>
#include <loyalty/selfservice/members.hpp>

namespace loyalty::selfservice {

namespace {

const db::Query kMerchant{"ss_merchant",
                          "SELECT name, coalesce(settings->>'language', '') FROM tenants "
                          "WHERE id = $1::uuid"};
const db::Query kMember{"ss_member",
                        "SELECT id::text, status, coalesce(language, ''), points_balance, "
                        "referral_code FROM customers WHERE tenant_id = $1::uuid AND phone = $2"};
const db::Query kRejoin{"ss_rejoin",
                        "UPDATE customers SET status = 'active', consent_at = now(), "
                        "consent_channel = $3, updated_at = now() WHERE tenant_id = $1::uuid AND "
                        "id = $2::uuid AND status = 'opted_out'"};
const db::Query kOptOut{"ss_opt_out",
                        "UPDATE customers SET status = 'opted_out', consent_at = NULL, "
                        "consent_channel = $3, updated_at = now() WHERE tenant_id = $1::uuid AND "
                        "id = $2::uuid AND status <> 'opted_out'"};
const db::Query kLanguage{"ss_language",
                          "UPDATE customers SET language = $3, updated_at = now() WHERE "
                          "tenant_id = $1::uuid AND id = $2::uuid"};
// The earliest expiry among the points still to expire within 30 days, and how many then.
const db::Query kPoints{"ss_points", R"sql(
SELECT c.points_balance,
       coalesce((SELECT sum(l.remaining) FROM points_lots l
                  WHERE l.tenant_id = c.tenant_id AND l.customer_id = c.id AND l.remaining > 0
                    AND l.expired_at IS NULL AND l.expires_at IS NOT NULL
                    AND l.expires_at::date = e.first::date), 0)::bigint,
       coalesce(to_char(e.first AT TIME ZONE t.timezone, 'YYYY-MM-DD'), '')
  FROM customers c JOIN tenants t ON t.id = c.tenant_id
  LEFT JOIN LATERAL (
    SELECT min(l.expires_at) AS first FROM points_lots l
     WHERE l.tenant_id = c.tenant_id AND l.customer_id = c.id AND l.remaining > 0
       AND l.expired_at IS NULL
       AND l.expires_at > now() AND l.expires_at < now() + interval '30 days') e ON true
 WHERE c.tenant_id = $1::uuid AND c.id = $2::uuid)sql"};
const db::Query kRewards{"ss_rewards", R"sql(
SELECT i.id::text, r.name, coalesce(i.code, ''),
       coalesce(to_char(i.expires_at AT TIME ZONE t.timezone, 'YYYY-MM-DD'), ''), r.requires_pin
  FROM issuances i
  JOIN rewards r ON r.tenant_id = i.tenant_id AND r.id = i.reward_id
  JOIN tenants t ON t.id = i.tenant_id
 WHERE i.tenant_id = $1::uuid AND i.customer_id = $2::uuid AND i.state = 'issued'
   AND r.type <> 'points' AND (i.expires_at IS NULL OR i.expires_at > app_now())
 ORDER BY i.expires_at NULLS LAST, i.created_at, i.id
 LIMIT 100)sql"};

// What the customer can claim with points: the conditions points::claim_reward checks, read
// without a lock (the claim checks them again in its own transaction).
const db::Query kOffers{"ss_offers", R"sql(
SELECT r.id::text, r.name, r.points_price
  FROM rewards r
 WHERE r.tenant_id = $1::uuid AND r.points_price IS NOT NULL AND r.type <> 'points' AND r.active
   AND (r.valid_from IS NULL OR r.valid_from <= app_now())
   AND (r.valid_until IS NULL OR r.valid_until > app_now())
   AND (r.type <> 'physical' OR r.stock IS NULL OR r.stock > 0)
   AND (r.type <> 'voucher' OR coalesce(r.config->>'source', 'pool') <> 'pool'
        OR EXISTS (SELECT 1 FROM reward_codes c WHERE c.tenant_id = r.tenant_id
                      AND c.reward_id = r.id AND c.status = 'available'))
 ORDER BY r.points_price, r.name, r.id
 LIMIT 20)sql"};

Actor customer_actor(const std::string& customer_id, const std::string& channel) {
  return Actor{"system", channel + ":" + customer_id};
}

}  // namespace

Merchant merchant_in(db::Tx& tx, const std::string& tenant_id) {
  auto rows = tx.exec(kMerchant, tenant_id);
  if (rows.empty()) throw_not_found("tenant");
  Merchant m{tenant_id, rows[0][0].as<std::string>(), rows[0][1].as<std::string>()};
  if (!Catalogue::builtin().has_language(m.language)) m.language = kDefaultLanguage;
  return m;
}

std::optional<Member> find_member_in(db::Tx& tx, const Merchant& m, const std::string& phone) {
  auto rows = tx.exec(kMember, m.tenant_id, phone);
  if (rows.empty()) return std::nullopt;
  Member member{rows[0][0].as<std::string>(), rows[0][1].as<std::string>(),
                rows[0][2].as<std::string>(), rows[0][3].as<long long>(),
                rows[0][4].as<std::string>()};
  if (member.language.empty()) member.language = m.language;
  return member;
}

Points points_in(db::Tx& tx, const Merchant& m, const std::string& customer_id) {
  // Pending points whose returns window is over are released first: the balance is spendable.
  points::release_due(tx, m.tenant_id, customer_id);
  auto rows = tx.exec(kPoints, m.tenant_id, customer_id);
  if (rows.empty()) throw_not_found("customer");
  return Points{rows[0][0].as<long long>(), rows[0][1].as<long long>(),
                rows[0][2].as<std::string>()};
}

std::vector<Reward> rewards_in(db::Tx& tx, const Merchant& m, const std::string& customer_id) {
  std::vector<Reward> out;
  for (const auto& r : tx.exec(kRewards, m.tenant_id, customer_id)) {
    out.push_back(Reward{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                         r[3].as<std::string>(), r[4].as<bool>()});
  }
  return out;
}

std::vector<Offer> offers_in(db::Tx& tx, const Merchant& m) {
  std::vector<Offer> out;
  for (const auto& r : tx.exec(kOffers, m.tenant_id)) {
    out.push_back(Offer{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<long long>()});
  }
  return out;
}

Merchant merchant(db::Database& database, const std::string& tenant_id) {
  return db::with_tenant(database, tenant_id,
                         [&](db::Tx& tx) { return merchant_in(tx, tenant_id); });
}

std::optional<Member> find_member(db::Database& database, const Merchant& m,
                                  const std::string& phone) {
  return db::with_tenant(database, m.tenant_id,
                         [&](db::Tx& tx) { return find_member_in(tx, m, phone); });
}

Member join(db::Database& database, const Merchant& m, const std::string& phone,
            const std::string& channel, const std::string& referral_code, bool* code_refused) {
  if (auto existing = find_member(database, m, phone)) {
    if (existing->status == "opted_out") {
      db::with_tenant(database, m.tenant_id, [&](db::Tx& tx) {
        if (tx.exec(kRejoin, m.tenant_id, existing->customer_id, channel).affected_rows() > 0) {
          customers::record_consent(tx, m.tenant_id, existing->customer_id, true, channel,
                                    customer_actor(existing->customer_id, channel));
          audit::record(tx, m.tenant_id, customer_actor(existing->customer_id, channel),
                        "customer.rejoin", "customer", existing->customer_id,
                        {{"status", "opted_out"}}, {{"status", "active"}, {"channel", channel}});
        }
      });
      existing->status = "active";
    }
    return *existing;
  }
  customers::NewCustomer c;
  c.phone = phone;
  c.consent = true;
  c.channel = channel;
  if (!referral_code.empty()) c.referral_code = referral_code;
  try {
    customers::create_customer(database, m.tenant_id, c, Actor{"system", channel});
  } catch (const Error& e) {
    if (e.type() == "unknown-referral-code") {
      // Joined all the same, without the code.
      if (code_refused) *code_refused = true;
      return join(database, m, phone, channel);
    }
    // Two first messages at once: the other created the customer.
    if (e.code() != ErrorCode::conflict) throw;
  }
  auto joined = find_member(database, m, phone);
  if (!joined) throw Error(ErrorCode::internal, "join-failed", "the customer was not enrolled");
  return *joined;
}

void opt_out(db::Database& database, const Merchant& m, const std::string& customer_id,
             const std::string& channel) {
  db::with_tenant(database, m.tenant_id, [&](db::Tx& tx) {
    if (tx.exec(kOptOut, m.tenant_id, customer_id, channel).affected_rows() > 0) {
      customers::record_consent(tx, m.tenant_id, customer_id, false, channel,
                                customer_actor(customer_id, channel));
      audit::record(tx, m.tenant_id, customer_actor(customer_id, channel), "customer.opt_out",
                    "customer", customer_id, nullptr,
                    {{"status", "opted_out"}, {"channel", channel}});
    }
  });
}

void set_language(db::Database& database, const Merchant& m, const std::string& customer_id,
                  const std::string& language) {
  if (!Catalogue::builtin().has_language(language))
    throw_invalid("unknown language", {{"/language", "one of en, sn, nd"}});
  db::with_tenant(database, m.tenant_id,
                  [&](db::Tx& tx) { tx.exec(kLanguage, m.tenant_id, customer_id, language); });
}

Points points(db::Database& database, const Merchant& m, const std::string& customer_id) {
  return db::with_tenant(database, m.tenant_id,
                         [&](db::Tx& tx) { return points_in(tx, m, customer_id); });
}

std::vector<Reward> rewards(db::Database& database, const Merchant& m,
                            const std::string& customer_id) {
  return db::with_tenant(database, m.tenant_id,
                         [&](db::Tx& tx) { return rewards_in(tx, m, customer_id); });
}

std::vector<Offer> offers(db::Database& database, const Merchant& m) {
  return db::with_tenant(database, m.tenant_id, [&](db::Tx& tx) { return offers_in(tx, m); });
}

Claimed claim(db::Database& database, const Merchant& m, const std::string& customer_id,
              const std::string& reward_id, const std::string& channel,
              std::optional<long long> if_balance) {
  Claimed out;
  try {
    auto c = points::claim_reward(database, m.tenant_id, customer_id, reward_id,
                                  customer_actor(customer_id, channel), if_balance);
    out.points_spent = c.points_spent;
    out.balance = c.balance;
    for (auto& r : rewards(database, m, customer_id)) {
      if (r.issuance_id == c.issuance.id) out.reward = std::move(r);
    }
    if (!out.reward) {  // a reward for now only (no code, no expiry), listed as it was issued
      out.reward = Reward{c.issuance.id, c.issuance.reward_name, c.issuance.code, "",
                          c.issuance.pin_required};
    }
  } catch (const Error& e) {
    if (e.code() == ErrorCode::not_found) {
      out.refused = "reward-not-available";  // removed from the catalogue since it was offered
    } else if (e.code() == ErrorCode::invalid || e.code() == ErrorCode::conflict) {
      out.refused = e.type();
    } else {
      throw;
    }
    out.balance = points(database, m, customer_id).balance;
  }
  return out;
}

std::string fresh_pin(db::Database& database, const Merchant& m, const std::string& customer_id,
                      const std::string& issuance_id, const std::string& channel) {
  return issuances::fresh_pin(database, m.tenant_id, customer_id, issuance_id, kPinValidity,
                              customer_actor(customer_id, channel));
}

}  // namespace loyalty::selfservice
