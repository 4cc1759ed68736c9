#include "audit/audit.hpp"
#include "customers/consent.hpp"
#include "customers/enrol.hpp"
#include "db/tx.hpp"
#include "points/lots.hpp"
#include "referrals/hooks.hpp"
#include "segments/membership.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/core/phone.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/customers/customers.hpp>

#include <regex>

namespace loyalty::customers {

namespace {

using db::Query;

constexpr const char* kColumns =
    "id::text, coalesce(phone, ''), coalesce(external_ref, ''), status, "
    "coalesce(to_char(consent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), "
    "coalesce(consent_channel, ''), attributes::text, array_to_json(tags)::text, "
    "array_to_json(segments)::text, coalesce(birthday::text, ''), points_balance, "
    "to_char(enrolled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
    "coalesce(language, ''), "
    "(SELECT t.name FROM tiers t WHERE t.tenant_id = customers.tenant_id "
    "AND t.id = customers.tier_id), "
    // Pending points (migration 0113) and when the first of their lots comes due.
    "points_pending, CASE WHEN points_pending > 0 THEN (SELECT to_char(min(l.pending_until) AT "
    "TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM points_lots l WHERE l.tenant_id = "
    "customers.tenant_id AND l.customer_id = customers.id AND l.pending_until IS NOT NULL AND "
    "l.released_at IS NULL AND l.remaining > 0) END, "
    "referral_code";

std::string select_sql(const std::string& rest) {
  return std::string("SELECT ") + kColumns + " FROM customers " + rest;
}

const std::string kInsertSql =
    "INSERT INTO customers (tenant_id, phone, external_ref, attributes, tags, segments, birthday, "
    "consent_at, consent_channel) VALUES ($1::uuid, $2, $3, $4::jsonb, "
    "ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), "
    "ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), $7::date, "
    "CASE WHEN $8 THEN now() END, CASE WHEN $8 THEN $9 END) "
    "ON CONFLICT DO NOTHING RETURNING " +
    std::string(kColumns);
const Query kInsert{"customers_insert", kInsertSql.c_str()};
const Query kExisting{"customers_existing",
                      "SELECT id::text FROM customers WHERE tenant_id = $1::uuid AND "
                      "(phone = $2 OR external_ref = $3) LIMIT 1"};
const std::string kGetSql = select_sql("WHERE tenant_id = $1::uuid AND id = $2::uuid");
const Query kGet{"customers_get", kGetSql.c_str()};
const std::string kListSql = select_sql(
    "WHERE tenant_id = $1::uuid AND ($2 = '' OR phone = $2) AND ($3 = '' OR external_ref = $3) "
    "AND ($4 = '' OR status = $4) AND ($5 = '' OR (created_at, id) > ($5::timestamptz, $6::uuid)) "
    "AND ($8 = '' OR segments @> ARRAY[$8]) ORDER BY created_at, id LIMIT $7");
const Query kList{"customers_list", kListSql.c_str(), db::Plan::per_call};
const std::string kSetStatusSql =
    "UPDATE customers SET status = $3, updated_at = now(), "
    "consent_at = CASE WHEN $3 = 'opted_out' THEN NULL ELSE consent_at END "
    "WHERE tenant_id = $1::uuid AND id = $2::uuid RETURNING " +
    std::string(kColumns);
const Query kSetStatus{"customers_set_status", kSetStatusSql.c_str()};
const Query kEnrolOnTheFly{"customers_enrol_on_the_fly", R"sql(
  INSERT INTO customers (tenant_id, phone, external_ref) VALUES ($1::uuid, $2, $3)
  ON CONFLICT DO NOTHING RETURNING id::text)sql"};
const Query kConsentInsert{"customers_consent_insert", R"sql(
  INSERT INTO customer_consents (tenant_id, customer_id, given, channel, actor_type, actor_id)
  VALUES ($1::uuid, $2::uuid, $3, $4, $5, nullif($6, '')))sql"};
const Query kConsentList{"customers_consent_list", R"sql(
  SELECT id, given, channel, actor_type, coalesce(actor_id, '') AS actor_id,
         to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
    FROM customer_consents
   WHERE tenant_id = $1::uuid AND customer_id = $2::uuid AND id > $3
   ORDER BY id LIMIT $4)sql"};
const std::string kLockSql = select_sql("WHERE tenant_id = $1::uuid AND id = $2::uuid FOR UPDATE");
const Query kLock{"customers_lock", kLockSql.c_str()};
const Query kPatch{"customers_patch", R"sql(
  UPDATE customers
     SET attributes = $3::jsonb,
         tags = ARRAY(SELECT jsonb_array_elements_text($4::jsonb)),
         birthday = $5::date, language = $6,
         consent_at = CASE WHEN $7::boolean IS NULL THEN consent_at WHEN $7::boolean THEN now() END,
         consent_channel = CASE WHEN $7::boolean IS NULL THEN consent_channel WHEN $7::boolean THEN $8::text END,
         updated_at = now()
   WHERE tenant_id = $1::uuid AND id = $2::uuid)sql"};
const Query kOutbox{"customers_outbox",
                    "INSERT INTO outbox (tenant_id, event_type, payload) "
                    "VALUES ($1::uuid, 'customer.enrolled', $2::jsonb)"};

bool is_calendar_date(const std::string& s) {
  static const std::regex kDate("^(\\d{4})-(\\d{2})-(\\d{2})$");
  std::smatch m;
  if (!std::regex_match(s, m, kDate)) return false;
  int y = std::stoi(m[1]), mo = std::stoi(m[2]), d = std::stoi(m[3]);
  if (y < 1900 || mo < 1 || mo > 12 || d < 1) return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[mo - 1] + (mo == 2 && leap ? 1 : 0);
}

Customer row_to_customer(const pqxx::row& r) {
  Customer c;
  c.id = r[0].as<std::string>();
  c.phone = r[1].as<std::string>();
  c.external_ref = r[2].as<std::string>();
  c.status = r[3].as<std::string>();
  c.consent_at = r[4].as<std::string>();
  c.consent_channel = r[5].as<std::string>();
  c.attributes = nlohmann::json::parse(r[6].as<std::string>());
  c.tags = nlohmann::json::parse(r[7].as<std::string>()).get<std::vector<std::string>>();
  c.segments = nlohmann::json::parse(r[8].as<std::string>()).get<std::vector<std::string>>();
  c.birthday = r[9].as<std::string>();
  c.points_balance = r[10].as<long long>();
  c.enrolled_at = r[11].as<std::string>();
  c.created_at = r[12].as<std::string>();
  c.language = r[13].as<std::string>();
  if (!r[14].is_null()) c.tier = r[14].as<std::string>();
  c.points_pending = r[15].as<long long>();
  c.points_pending_until = r[16].is_null() ? "" : r[16].as<std::string>();
  c.referral_code = r[17].as<std::string>();
  return c;
}

}  // namespace

nlohmann::json to_json(const Customer& c) {
  auto opt = [](const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); };
  return {{"id", c.id},
          {"phone", opt(c.phone)},
          {"external_ref", opt(c.external_ref)},
          {"status", c.status},
          {"consent",
           {{"given", !c.consent_at.empty()},
            {"at", opt(c.consent_at)},
            {"channel", opt(c.consent_channel)}}},
          {"attributes", c.attributes},
          {"tags", c.tags},
          {"segments", c.segments},
          {"birthday", opt(c.birthday)},
          {"language", opt(c.language)},
          {"points_balance", c.points_balance},
          {"points_pending", c.points_pending},
          {"points_pending_until", opt(c.points_pending_until)},
          {"referral_code", c.referral_code},
          {"tier", c.tier ? nlohmann::json(*c.tier) : nlohmann::json()},
          {"enrolled_at", c.enrolled_at}};
}

NewCustomer new_customer_from_json(const nlohmann::json& body) {
  NewCustomer c;
  std::vector<FieldError> errors;
  auto string_field = [&](const char* name, std::optional<std::string>& into) {
    if (!body.contains(name) || body[name].is_null()) return;
    if (!body[name].is_string()) {
      errors.push_back({std::string("/") + name, "must be a string"});
      return;
    }
    into = body[name].get<std::string>();
  };
  string_field("phone", c.phone);
  string_field("external_ref", c.external_ref);
  string_field("birthday", c.birthday);
  string_field("referral_code", c.referral_code);
  if (body.contains("attributes")) {
    if (!body["attributes"].is_object())
      errors.push_back({"/attributes", "must be an object"});
    else
      c.attributes = body["attributes"];
  }
  for (const char* list : {"tags", "segments"}) {
    if (!body.contains(list)) continue;
    const auto& v = body[list];
    if (!v.is_array()) {
      errors.push_back({std::string("/") + list, "must be an array of strings"});
      continue;
    }
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string() || v[i].get<std::string>().empty() ||
          v[i].get<std::string>().size() > 64) {
        errors.push_back({std::string("/") + list + "/" + std::to_string(i),
                          "must be a string of 1 to 64 characters"});
      } else {
        (std::string(list) == "tags" ? c.tags : c.segments).push_back(v[i].get<std::string>());
      }
    }
  }
  if (body.contains("consent")) {
    if (!body["consent"].is_boolean())
      errors.push_back({"/consent", "must be true or false"});
    else
      c.consent = body["consent"].get<bool>();
  }
  if (body.contains("channel")) {
    static const std::vector<std::string> kChannels = {"pos", "whatsapp", "ussd", "web", "api"};
    if (!body["channel"].is_string() ||
        std::find(kChannels.begin(), kChannels.end(), body["channel"].get<std::string>()) ==
            kChannels.end()) {
      errors.push_back({"/channel", "must be one of pos, whatsapp, ussd, web, api"});
    } else {
      c.channel = body["channel"].get<std::string>();
    }
  }
  if (!errors.empty()) throw_invalid("the customer is not valid", errors);
  return c;
}

Customer create_customer(db::Database& database, const std::string& tenant_id, const NewCustomer& c,
                         const Actor& actor) {
  std::vector<FieldError> errors;
  std::optional<std::string> phone;
  if (c.phone) {
    phone = try_normalize_phone(*c.phone);
    if (!phone) {
      errors.push_back({"/phone", "not a valid phone number (e.g. 0771 234 567 or +263771234567)"});
    }
  }
  if (!c.phone && !c.external_ref) {
    errors.push_back({"/phone", "a phone number or an external_ref is required"});
  }
  if (c.external_ref && (c.external_ref->empty() || c.external_ref->size() > 200)) {
    errors.push_back({"/external_ref", "must be 1 to 200 characters"});
  }
  if (c.birthday && !is_calendar_date(*c.birthday)) {
    errors.push_back({"/birthday", "must be a date YYYY-MM-DD"});
  }
  if (c.attributes.dump().size() > 16 * 1024) {
    errors.push_back({"/attributes", "must be at most 16 KiB of JSON"});
  }
  if (!errors.empty()) throw_invalid("the customer is not valid", errors);

  std::optional<std::string> birthday = c.birthday;
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto rows = tx.exec(kInsert, tenant_id, phone, c.external_ref, c.attributes.dump(),
                        nlohmann::json(c.tags).dump(), nlohmann::json(c.segments).dump(), birthday,
                        c.consent, c.channel);
    if (rows.empty()) {
      auto existing = tx.exec(kExisting, tenant_id, phone, c.external_ref);
      auto err = Error(ErrorCode::conflict, "customer-exists",
                       "a customer with this phone number or external_ref already exists");
      if (!existing.empty()) err.extend("existing_id", existing[0][0].as<std::string>());
      throw err;
    }
    Customer created = row_to_customer(rows[0]);
    nlohmann::json payload = {{"customer_id", created.id},
                              {"external_ref", to_json(created)["external_ref"]},
                              {"enrolled_at", created.enrolled_at},
                              {"channel", c.channel}};
    tx.exec(kOutbox, tenant_id, payload.dump());
    if (c.consent) record_consent(tx, tenant_id, created.id, true, c.channel, actor);
    audit::record(tx, tenant_id, actor, "customer.create", "customer", created.id, nullptr,
                  {{"id", created.id}, {"channel", c.channel}});
    if (c.referral_code) {
      referrals::link_new_customer(tx, tenant_id, created.id, *c.referral_code, c.channel, actor);
    }
    // Enrolled with attributes and tags, the customer is in the segments they meet at once.
    auto compiled = segments::load_compiled(tx, tenant_id);
    if (!compiled.names.empty() &&
        segments::recompute_customers(tx, tenant_id, {created.id}, compiled) > 0) {
      created = row_to_customer(tx.exec1(kGet, tenant_id, created.id));
    }
    return created;
  });
}

Customer get_customer(db::Database& database, const std::string& tenant_id, const std::string& id) {
  if (!is_uuid(id)) throw_not_found("customer");
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    // Pending points whose returns window is over are released first: the answer shows them
    // spendable without waiting for the expiry run.
    points::release_due(tx, tenant_id, id);
    auto rows = tx.exec(kGet, tenant_id, id);
    if (rows.empty()) throw_not_found("customer");
    return row_to_customer(rows[0]);
  });
}

Page<Customer> list_customers(db::Database& database, const std::string& tenant_id,
                              const CustomerFilter& filter, const PageRequest& page) {
  std::string phone;
  if (!filter.phone.empty()) {
    auto normalized = try_normalize_phone(filter.phone);
    if (!normalized)
      throw_invalid("the phone filter is not valid", {{"/phone", "not a phone number"}});
    phone = *normalized;
  }
  if (!filter.status.empty() && filter.status != "active" && filter.status != "suspended" &&
      filter.status != "opted_out") {
    throw_invalid("the status filter is not valid",
                  {{"/status", "must be active, suspended or opted_out"}});
  }
  auto after = decode_keyed_cursor(page.cursor);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto rows = tx.exec(kList, tenant_id, phone, filter.external_ref, filter.status, after.key,
                        after.id.empty() ? std::optional<std::string>() : after.id, page.limit + 1,
                        filter.segment);
    return fill_page<Customer>(rows, page.limit, row_to_customer, [](const Customer& c) {
      return CursorPosition{c.created_at, c.id};
    });
  });
}

Customer set_customer_status(db::Database& database, const std::string& tenant_id,
                             const std::string& id, const std::string& status, const Actor& actor) {
  if (status != "active" && status != "suspended" && status != "opted_out") {
    throw_invalid("the status is not valid",
                  {{"/status", "must be active, suspended or opted_out"}});
  }
  if (!is_uuid(id)) throw_not_found("customer");
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto before = tx.exec(kGet, tenant_id, id);
    if (before.empty()) throw_not_found("customer");
    auto rows = tx.exec(kSetStatus, tenant_id, id, status);
    Customer c = row_to_customer(rows[0]);
    Customer was = row_to_customer(before[0]);
    if (!was.consent_at.empty() && c.consent_at.empty()) {
      record_consent(tx, tenant_id, id, false, was.consent_channel, actor);
    }
    audit::record(tx, tenant_id, actor, "customer.status", "customer", id,
                  {{"status", before[0][3].as<std::string>()}}, {{"status", status}});
    return c;
  });
}

void record_consent(db::Tx& tx, const std::string& tenant_id, const std::string& customer_id,
                    bool given, const std::string& channel, const Actor& actor) {
  tx.exec(kConsentInsert, tenant_id, customer_id, given, channel.empty() ? "api" : channel,
          actor.type, actor.id);
}

namespace {

const std::vector<std::string> kChannels = {"pos", "whatsapp", "ussd", "web", "api"};
const std::vector<std::string> kLanguages = {"en", "sn", "nd"};
constexpr std::size_t kMaxTags = 100;

/// The tags of a list, each 1 to 64 characters (an error per bad one, at `pointer`/index).
std::vector<std::string> tag_list(const nlohmann::json& v, const std::string& pointer,
                                  std::vector<FieldError>& errors) {
  std::vector<std::string> out;
  if (!v.is_array()) {
    errors.push_back({pointer, "must be an array of strings"});
    return out;
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string() || v[i].get<std::string>().empty() ||
        v[i].get<std::string>().size() > 64) {
      errors.push_back(
          {pointer + "/" + std::to_string(i), "must be a string of 1 to 64 characters"});
    } else {
      out.push_back(v[i].get<std::string>());
    }
  }
  return out;
}

bool one_of(const std::vector<std::string>& allowed, const std::string& s) {
  return std::find(allowed.begin(), allowed.end(), s) != allowed.end();
}

/// The nullable string field `name` ("" for null), as a patch sets it.
void nullable_string(const nlohmann::json& body, const char* name,
                     std::optional<std::optional<std::string>>& into,
                     std::vector<FieldError>& errors) {
  if (!body.contains(name)) return;
  const auto& v = body[name];
  if (v.is_null()) {
    into = std::optional<std::string>();
  } else if (v.is_string()) {
    into = v.get<std::string>();
  } else {
    errors.push_back({std::string("/") + name, "must be a string or null"});
  }
}

}  // namespace

CustomerPatch customer_patch_from_json(const nlohmann::json& body) {
  CustomerPatch p;
  std::vector<FieldError> errors;
  if (body.contains("attributes")) {
    if (!body["attributes"].is_object())
      errors.push_back({"/attributes", "must be an object (a JSON merge patch)"});
    else
      p.attributes = body["attributes"];
  }
  if (body.contains("tags")) {
    const auto& tags = body["tags"];
    if (tags.is_array()) {
      p.tags = tag_list(tags, "/tags", errors);
    } else if (tags.is_object()) {
      for (const auto& [key, value] : tags.items()) {
        if (key == "add")
          p.add_tags = tag_list(value, "/tags/add", errors);
        else if (key == "remove")
          p.remove_tags = tag_list(value, "/tags/remove", errors);
        else
          errors.push_back({"/tags/" + key, "unknown field (add or remove)"});
      }
    } else {
      errors.push_back(
          {"/tags", "must be an array of tags or {\"add\": [...], \"remove\": [...]}"});
    }
  }
  nullable_string(body, "birthday", p.birthday, errors);
  if (p.birthday && *p.birthday && !is_calendar_date(**p.birthday))
    errors.push_back({"/birthday", "must be a date YYYY-MM-DD"});
  nullable_string(body, "language", p.language, errors);
  if (p.language && *p.language && !one_of(kLanguages, **p.language))
    errors.push_back({"/language", "must be one of en, sn, nd"});
  if (body.contains("consent")) {
    const auto& consent = body["consent"];
    if (!consent.is_object()) {
      errors.push_back({"/consent", "must be {\"given\": true|false, \"channel\": ...}"});
    } else {
      for (const auto& [key, value] : consent.items()) {
        if (key != "given" && key != "channel")
          errors.push_back({"/consent/" + key, "unknown field (given or channel)"});
      }
      if (!consent.contains("given") || !consent["given"].is_boolean())
        errors.push_back({"/consent/given", "must be true or false"});
      else
        p.consent = consent["given"].get<bool>();
      if (consent.contains("channel")) {
        if (!consent["channel"].is_string() ||
            !one_of(kChannels, consent["channel"].get<std::string>()))
          errors.push_back({"/consent/channel", "must be one of pos, whatsapp, ussd, web, api"});
        else
          p.consent_channel = consent["channel"].get<std::string>();
      }
    }
  }
  if (!errors.empty()) throw_invalid("the customer patch is not valid", errors);
  return p;
}

Customer update_customer(db::Database& database, const std::string& tenant_id,
                         const std::string& id, const CustomerPatch& patch, const Actor& actor) {
  if (!is_uuid(id)) throw_not_found("customer");
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto rows = tx.exec(kLock, tenant_id, id);
    if (rows.empty()) throw_not_found("customer");
    const Customer was = row_to_customer(rows[0]);
    if (was.status == "erased")
      throw Error(ErrorCode::conflict, "customer-erased", "the customer's data was erased");

    Customer next = was;
    if (patch.attributes) next.attributes.merge_patch(*patch.attributes);
    if (patch.tags) {
      next.tags.clear();
      for (const auto& t : *patch.tags)
        if (!one_of(next.tags, t)) next.tags.push_back(t);
    }
    for (const auto& t : patch.add_tags)
      if (!one_of(next.tags, t)) next.tags.push_back(t);
    for (const auto& t : patch.remove_tags)
      next.tags.erase(std::remove(next.tags.begin(), next.tags.end(), t), next.tags.end());
    if (patch.birthday) next.birthday = patch.birthday->value_or("");
    if (patch.language) next.language = patch.language->value_or("");
    const bool was_given = !was.consent_at.empty();
    std::optional<bool> consent;
    if (patch.consent && *patch.consent != was_given) consent = *patch.consent;

    std::vector<FieldError> errors;
    if (next.attributes.dump().size() > 16 * 1024)
      errors.push_back({"/attributes", "must be at most 16 KiB of JSON once patched"});
    if (next.tags.size() > kMaxTags)
      errors.push_back({"/tags", "at most " + std::to_string(kMaxTags) + " tags"});
    if (!errors.empty()) throw_invalid("the customer patch is not valid", errors);

    // The audit log is append-only and outlives an erasure: what it keeps of a profile's
    // personal fields (attributes, tags, birthday) is which changed, never their values.
    nlohmann::json before = nlohmann::json::object(), after = nlohmann::json::object();
    auto opt = [](const std::string& s) {
      return s.empty() ? nlohmann::json() : nlohmann::json(s);
    };
    if (next.attributes != was.attributes) {
      std::vector<std::string> keys;
      for (const auto& [key, value] : next.attributes.items())
        if (!was.attributes.contains(key) || was.attributes[key] != value) keys.push_back(key);
      for (const auto& [key, value] : was.attributes.items())
        if (!next.attributes.contains(key)) keys.push_back(key);
      std::sort(keys.begin(), keys.end());
      after["attributes"] = {{"changed", keys}};
    }
    if (next.tags != was.tags) {
      std::size_t added = 0, removed = 0;
      for (const auto& t : next.tags) added += one_of(was.tags, t) ? 0 : 1;
      for (const auto& t : was.tags) removed += one_of(next.tags, t) ? 0 : 1;
      after["tags"] = {{"added", added}, {"removed", removed}};
    }
    if (next.birthday != was.birthday) {
      after["birthday"] = {{"changed", true}, {"set", !next.birthday.empty()}};
    }
    if (next.language != was.language) {
      before["language"] = opt(was.language);
      after["language"] = opt(next.language);
    }
    if (consent) {
      before["consent"] = {{"given", was_given}, {"channel", opt(was.consent_channel)}};
      after["consent"] = {
          {"given", *consent},
          {"channel", *consent ? nlohmann::json(patch.consent_channel) : nlohmann::json()}};
    }
    if (after.empty()) return was;  // nothing changes: nothing is written

    std::optional<std::string> birthday, language;
    if (!next.birthday.empty()) birthday = next.birthday;
    if (!next.language.empty()) language = next.language;
    tx.exec(kPatch, tenant_id, id, next.attributes.dump(), nlohmann::json(next.tags).dump(),
            birthday, language, consent, patch.consent_channel);
    if (consent) record_consent(tx, tenant_id, id, *consent, patch.consent_channel, actor);
    audit::record(tx, tenant_id, actor, "customer.update", "customer", id, before, after);
    auto compiled = segments::load_compiled(tx, tenant_id);
    if (!compiled.names.empty()) segments::recompute_customers(tx, tenant_id, {id}, compiled);
    return row_to_customer(tx.exec1(kGet, tenant_id, id));
  });
}

Page<ConsentChange> consent_history(db::Database& database, const std::string& tenant_id,
                                    const std::string& id, const PageRequest& page) {
  if (!is_uuid(id)) throw_not_found("customer");
  long long after_id = decode_numeric_cursor(page.cursor);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    if (tx.exec(kGet, tenant_id, id).empty()) throw_not_found("customer");
    auto rows = tx.exec(kConsentList, tenant_id, id, after_id, page.limit + 1);
    return fill_page<ConsentChange>(
        rows, page.limit,
        [](const pqxx::row& r) {
          ConsentChange c;
          c.id = r["id"].as<long long>();
          c.given = r["given"].as<bool>();
          c.channel = r["channel"].as<std::string>();
          c.actor_type = r["actor_type"].as<std::string>();
          c.actor_id = r["actor_id"].as<std::string>();
          c.at = r["at"].as<std::string>();
          return c;
        },
        [](const ConsentChange& c) {
          return CursorPosition{std::to_string(c.id), ""};
        });
  });
}

nlohmann::json to_json(const ConsentChange& c) {
  return {{"id", c.id},
          {"consent", c.given ? "given" : "withdrawn"},
          {"channel", c.channel},
          {"actor_type", c.actor_type},
          {"actor_id", c.actor_id.empty() ? nlohmann::json() : nlohmann::json(c.actor_id)},
          {"at", c.at}};
}

bool enrol_on_the_fly(db::Tx& tx, const std::string& tenant_id,
                      const std::optional<std::string>& phone,
                      const std::optional<std::string>& external_ref, const std::string& channel) {
  auto rows = tx.exec(kEnrolOnTheFly, tenant_id, phone, external_ref);
  if (rows.empty()) return false;
  tx.exec(
      kOutbox, tenant_id,
      nlohmann::json{{"customer_id", rows[0][0].as<std::string>()}, {"channel", channel}}.dump());
  return true;
}

}  // namespace loyalty::customers
