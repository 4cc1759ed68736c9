#include "audit/audit.hpp"
#include "customers/enrol.hpp"
#include "db/tx.hpp"
#include "referrals/hooks.hpp"

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
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), referral_code";

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
    "ORDER BY created_at, id LIMIT $7");
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
  c.referral_code = r[13].as<std::string>();
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
          {"points_balance", c.points_balance},
          {"referral_code", c.referral_code},
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
    audit::record(tx, tenant_id, actor, "customer.create", "customer", created.id, nullptr,
                  {{"id", created.id}, {"channel", c.channel}});
    if (c.referral_code) {
      referrals::link_new_customer(tx, tenant_id, created.id, *c.referral_code, c.channel, actor);
    }
    return created;
  });
}

Customer get_customer(db::Database& database, const std::string& tenant_id, const std::string& id) {
  if (!is_uuid(id)) throw_not_found("customer");
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
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
                        after.id.empty() ? std::optional<std::string>() : after.id, page.limit + 1);
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
    audit::record(tx, tenant_id, actor, "customer.status", "customer", id,
                  {{"status", before[0][3].as<std::string>()}}, {{"status", status}});
    return c;
  });
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
