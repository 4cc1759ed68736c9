// Referrals: linking a referee to the owner of a code, the tenant's settings, the lists.
#include "audit/audit.hpp"
#include "db/tx.hpp"
#include "referrals/hooks.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/core/money.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/referrals/referrals.hpp>

#include <algorithm>
#include <cctype>
#include <regex>

namespace loyalty::referrals {

namespace {

using db::Query;

constexpr const char* kColumns =
    "id::text, referrer_id::text, referee_id::text, channel, "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
    "coalesce(to_char(completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), "
    "coalesce(completing_event_id::text, '')";

// Links are serialized per tenant (a transaction-scoped advisory lock), so that two links made
// at once can never close a loop that neither saw; linking is rare, one per customer at most.
const Query kLinkLock{"referrals_link_lock",
                      "SELECT pg_advisory_xact_lock(hashtextextended('referrals:' || $1, 0))"};
// The referee locked (against a first event arriving meanwhile), the code's owner, and what
// refuses the link.
const Query kLinkCheck{"referrals_link_check", R"sql(
  SELECT (SELECT o.id::text FROM customers o
           WHERE o.tenant_id = $1::uuid AND o.referral_code = $3),
         EXISTS (SELECT 1 FROM referrals r WHERE r.tenant_id = $1::uuid AND r.referee_id = c.id),
         EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = $1::uuid AND e.customer_id = c.id)
    FROM customers c WHERE c.tenant_id = $1::uuid AND c.id = $2::uuid FOR UPDATE OF c)sql"};
// Whether `$2` (the referee) is the referrer $3 or among who referred them, up the chain.
const Query kLoop{"referrals_loop", R"sql(
  WITH RECURSIVE up (id, depth) AS (
    SELECT $3::uuid, 0
    UNION ALL
    SELECT r.referrer_id, up.depth + 1 FROM up
      JOIN referrals r ON r.tenant_id = $1::uuid AND r.referee_id = up.id
     WHERE up.depth < 10000)
  SELECT EXISTS (SELECT 1 FROM up WHERE id = $2::uuid))sql"};
const std::string kInsertSql = std::string(R"sql(
  WITH made AS (
    INSERT INTO referrals (tenant_id, referrer_id, referee_id, channel)
    VALUES ($1::uuid, $2::uuid, $3::uuid, $4) ON CONFLICT DO NOTHING RETURNING *),
  flagged AS (
    UPDATE customers SET referral_open = true, updated_at = now()
     WHERE tenant_id = $1::uuid AND id = $3::uuid AND EXISTS (SELECT 1 FROM made))
  SELECT )sql") + kColumns + " FROM made";
const Query kInsert{"referrals_insert", kInsertSql.c_str()};
const std::string kListSql = std::string("SELECT ") + kColumns + R"sql( FROM referrals
   WHERE tenant_id = $1::uuid AND ($2::uuid IS NULL OR referrer_id = $2::uuid)
     AND ($3 = '' OR (created_at, id) < ($3::timestamptz, $4::uuid))
   ORDER BY created_at DESC, id DESC LIMIT $5)sql";
// An optional filter: planned for its values (the referrer's index once $2 is known).
const Query kList{"referrals_list", kListSql.c_str(), db::Plan::per_call};
const std::string kReferredBySql =
    std::string("SELECT ") + kColumns +
    " FROM referrals WHERE tenant_id = $1::uuid AND referee_id = $2::uuid";
const Query kReferredBy{"referrals_referred_by", kReferredBySql.c_str()};
const Query kCustomerExists{"referrals_customer",
                            "SELECT 1 FROM customers WHERE tenant_id = $1::uuid AND id = $2::uuid"};
const Query kGetSettings{"referrals_settings",
                         "SELECT settings::text FROM tenants WHERE id = $1::uuid"};
const Query kSetSettings{"referrals_set_settings",
                         "UPDATE tenants SET settings = jsonb_set(settings, '{referrals}', "
                         "$2::jsonb), updated_at = now() WHERE id = $1::uuid RETURNING 1"};

Referral row_to_referral(const pqxx::row& r) {
  return Referral{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                  r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>(),
                  r[6].as<std::string>()};
}

const std::regex kCodeFormat("^[2-9A-HJ-NP-Z]{8}$");
const std::regex kEventType("^[a-z][a-z0-9_.]{0,63}$");

Error unknown_code() {
  return Error(ErrorCode::invalid, "unknown-referral-code",
               "no customer of this merchant has that referral code",
               {{"/referral_code", "not a referral code of this merchant"}});
}

Referral link_in(db::Tx& tx, const std::string& tenant_id, const std::string& customer_id,
                 const std::string& code, const std::string& channel, const Actor& actor) {
  std::string wanted = normalize_code(code);
  tx.exec(kLinkLock, tenant_id);
  auto rows = tx.exec(kLinkCheck, tenant_id, customer_id, wanted);
  if (rows.empty()) throw_not_found("customer");
  if (!std::regex_match(wanted, kCodeFormat) || rows[0][0].is_null()) throw unknown_code();
  const std::string referrer = rows[0][0].as<std::string>();
  if (referrer == customer_id) {
    throw Error(ErrorCode::invalid, "self-referral", "a customer cannot refer themselves",
                {{"/referral_code", "the customer's own code"}});
  }
  if (rows[0][1].as<bool>()) {
    throw Error(ErrorCode::conflict, "already-referred",
                "this customer was referred already: a customer has one referrer");
  }
  if (rows[0][2].as<bool>()) {
    throw Error(ErrorCode::invalid, "referral-too-late",
                "a referral code counts only before the customer's first event",
                {{"/referral_code", "the customer has events already"}});
  }
  if (tx.exec1(kLoop, tenant_id, customer_id, referrer)[0].as<bool>()) {
    throw Error(ErrorCode::invalid, "referral-loop",
                "the code's owner was referred by this customer (directly or along a chain)",
                {{"/referral_code", "would make a referral loop"}});
  }
  auto made = tx.exec(kInsert, tenant_id, referrer, customer_id, channel);
  if (made.empty()) {
    throw Error(ErrorCode::conflict, "already-referred",
                "this customer was referred already: a customer has one referrer");
  }
  Referral referral = row_to_referral(made[0]);
  audit::record(tx, tenant_id, actor, "referral.link", "customer", customer_id, nullptr,
                {{"referral_id", referral.id}, {"referrer_id", referrer}, {"channel", channel}});
  return referral;
}

void check_channel(const std::string& channel) {
  static const std::vector<std::string> kChannels = {"pos", "whatsapp", "ussd", "web", "api"};
  if (std::find(kChannels.begin(), kChannels.end(), channel) == kChannels.end()) {
    throw_invalid("the channel is not valid",
                  {{"/channel", "must be pos, whatsapp, ussd, web or api"}});
  }
}

}  // namespace

std::string normalize_code(const std::string& code) {
  std::string out;
  for (char c : code) {
    if (c == ' ' || c == '-' || c == '\t') continue;
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

void link_new_customer(db::Tx& tx, const std::string& tenant_id, const std::string& customer_id,
                       const std::string& code, const std::string& channel, const Actor& actor) {
  link_in(tx, tenant_id, customer_id, code, channel, actor);
}

Referral link_referrer(db::Database& database, const std::string& tenant_id,
                       const std::string& customer_id, const std::string& code,
                       const std::string& channel, const Actor& actor) {
  if (!is_uuid(customer_id)) throw_not_found("customer");
  check_channel(channel);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    return link_in(tx, tenant_id, customer_id, code, channel, actor);
  });
}

Page<Referral> list_referrals(db::Database& database, const std::string& tenant_id,
                              const std::string& customer_id, const PageRequest& page) {
  if (!customer_id.empty() && !is_uuid(customer_id)) throw_not_found("customer");
  auto after = decode_keyed_cursor(page.cursor);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    std::optional<std::string> customer;
    if (!customer_id.empty()) {
      if (tx.exec(kCustomerExists, tenant_id, customer_id).empty()) throw_not_found("customer");
      customer = customer_id;
    }
    auto rows = tx.exec(kList, tenant_id, customer, after.key,
                        after.id.empty() ? std::optional<std::string>() : after.id, page.limit + 1);
    auto out = fill_page<Referral>(rows, page.limit, row_to_referral, [](const Referral& r) {
      return CursorPosition{r.created_at, r.id};
    });
    // The referral that brought the customer in heads the first page.
    if (customer && page.cursor.empty()) {
      auto by = tx.exec(kReferredBy, tenant_id, *customer);
      if (!by.empty()) out.items.insert(out.items.begin(), row_to_referral(by[0]));
    }
    return out;
  });
}

Settings settings_of(const nlohmann::json& tenant_settings) {
  Settings s;
  auto found = tenant_settings.find("referrals");
  if (found == tenant_settings.end() || !found->is_object()) return s;
  if (auto types = found->find("event_types"); types != found->end() && types->is_array()) {
    s.event_types.clear();
    for (const auto& t : *types) {
      if (t.is_string()) s.event_types.push_back(t.get<std::string>());
    }
  }
  if (auto min = found->find("min_amount"); min != found->end() && min->is_string()) {
    try {
      s.min_amount_minor = parse_amount(min->get<std::string>());
    } catch (const Error&) {
      // set_settings refuses a bad amount; one written by hand counts as none
    }
  }
  return s;
}

Settings get_settings(db::Database& database, const std::string& tenant_id) {
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto rows = tx.exec(kGetSettings, tenant_id);
    if (rows.empty()) throw_not_found("tenant");
    return settings_of(nlohmann::json::parse(rows[0][0].as<std::string>()));
  });
}

Settings set_settings(db::Database& database, const std::string& tenant_id,
                      const Settings& settings) {
  std::vector<FieldError> errors;
  if (settings.event_types.empty()) {
    errors.push_back({"/event_types", "at least one event type"});
  }
  for (std::size_t i = 0; i < settings.event_types.size(); ++i) {
    const auto& t = settings.event_types[i];
    if (!std::regex_match(t, kEventType) || t == "referral.completed" || t == "refund") {
      errors.push_back({"/event_types/" + std::to_string(i),
                        "an event type such as purchase (not refund or referral.completed)"});
    }
  }
  if (settings.min_amount_minor && *settings.min_amount_minor < 0) {
    errors.push_back({"/min_amount", "must not be negative"});
  }
  if (!errors.empty()) throw_invalid("the referral settings are not valid", errors);
  nlohmann::json stored = {{"event_types", settings.event_types}};
  if (settings.min_amount_minor) stored["min_amount"] = format_amount(*settings.min_amount_minor);
  db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    if (tx.exec(kSetSettings, tenant_id, stored.dump()).empty()) throw_not_found("tenant");
  });
  return settings;
}

nlohmann::json to_json(const Referral& r) {
  auto opt = [](const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); };
  return {{"id", r.id},
          {"referrer_id", r.referrer_id},
          {"referee_id", r.referee_id},
          {"status", r.completed_at.empty() ? "open" : "completed"},
          {"channel", r.channel},
          {"created_at", r.created_at},
          {"completed_at", opt(r.completed_at)},
          {"completing_event_id", opt(r.completing_event_id)}};
}

nlohmann::json to_json(const Page<Referral>& page) {
  auto items = nlohmann::json::array();
  for (const auto& r : page.items) items.push_back(to_json(r));
  return {{"items", items},
          {"next_cursor",
           page.next_cursor.empty() ? nlohmann::json() : nlohmann::json(page.next_cursor)}};
}

nlohmann::json to_json(const Settings& s) {
  return {{"event_types", s.event_types},
          {"min_amount", s.min_amount_minor ? nlohmann::json(format_amount(*s.min_amount_minor))
                                            : nlohmann::json()}};
}

}  // namespace loyalty::referrals
