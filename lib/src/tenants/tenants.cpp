#include "audit/audit.hpp"
#include "db/tx.hpp"

#include <loyalty/auth/password.hpp>
#include <loyalty/auth/tokens.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/core/money.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <regex>

namespace loyalty::tenants {

namespace {

using db::Query;

constexpr const char* kColumns =
    "id::text, slug, name, timezone, currency, status, settings::text, "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

const Query kValidTimezone{"tenant_valid_tz", "SELECT is_valid_timezone($1)"};
const Query kSlugTaken{"tenant_slug_taken",
                       "SELECT EXISTS (SELECT 1 FROM tenants WHERE slug = $1)"};
const Query kEmailTaken{"tenant_email_taken",
                        "SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)"};

Tenant row_to_tenant(const pqxx::row& r) {
  Tenant t;
  t.id = r[0].as<std::string>();
  t.slug = r[1].as<std::string>();
  t.name = r[2].as<std::string>();
  t.timezone = r[3].as<std::string>();
  t.currency = r[4].as<std::string>();
  t.status = r[5].as<std::string>();
  t.settings = nlohmann::json::parse(r[6].as<std::string>());
  t.created_at = r[7].as<std::string>();
  return t;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Tenant find_in(db::Tx& tx, const std::string& id_or_slug) {
  static const std::string by_id =
      std::string("SELECT ") + kColumns + " FROM tenants WHERE id = $1::uuid";
  static const std::string by_slug =
      std::string("SELECT ") + kColumns + " FROM tenants WHERE slug = $1";
  static const Query kById{"tenant_by_id", by_id.c_str()};
  static const Query kBySlug{"tenant_by_slug", by_slug.c_str()};
  auto rows = is_uuid(id_or_slug) ? tx.exec(kById, id_or_slug) : tx.exec(kBySlug, id_or_slug);
  if (rows.empty()) throw_not_found("tenant '" + id_or_slug + "'");
  return row_to_tenant(rows[0]);
}

}  // namespace

nlohmann::json to_json(const Tenant& t) {
  return {{"id", t.id},
          {"slug", t.slug},
          {"name", t.name},
          {"timezone", t.timezone},
          {"currency", t.currency},
          {"status", t.status},
          {"settings", t.settings},
          {"created_at", t.created_at}};
}

CreatedTenant create_tenant(db::Database& database, const CreateTenantRequest& req) {
  static const std::regex kSlug("^[a-z0-9][a-z0-9-]{1,62}$");
  static const std::regex kEmail("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$");
  std::vector<FieldError> errors;
  if (req.name.empty() || req.name.size() > 200) {
    errors.push_back({"/name", "name must be 1 to 200 characters"});
  }
  if (!std::regex_match(req.slug, kSlug)) {
    errors.push_back({"/slug",
                      "slug must be 2-63 characters of a-z, 0-9 and '-', starting with a "
                      "letter or digit"});
  }
  if (!is_supported_currency(req.currency)) {
    errors.push_back({"/currency", "currency must be USD or ZWG"});
  }
  std::optional<std::string> email;
  if (req.admin_email) {
    email = lower(*req.admin_email);
    if (!std::regex_match(*email, kEmail)) {
      errors.push_back({"/admin_email", "not an email address"});
    }
  }

  // Hash outside the transaction: argon2id takes tens of milliseconds.
  std::optional<std::string> password, password_hash;
  std::optional<auth::ApiKey> key;
  if (email) {
    password = auth::generate_password();
    password_hash = auth::hash_password(*password);
    key = auth::generate_api_key();
  }

  return db::with_tx(database, [&](db::Tx& tx) {
    if (!tx.exec1(kValidTimezone, req.timezone)[0].as<bool>()) {
      errors.push_back({"/timezone", "unknown time zone '" + req.timezone +
                                         "' (use an IANA name such as Africa/Harare)"});
    }
    if (!errors.empty()) throw_invalid("the tenant is not valid", errors);
    if (tx.exec1(kSlugTaken, req.slug)[0].as<bool>()) {
      throw_conflict("slug-taken", "a tenant with slug '" + req.slug + "' already exists");
    }
    if (email && tx.exec1(kEmailTaken, *email)[0].as<bool>()) {
      throw_conflict("email-taken", "a user with email " + *email + " already exists");
    }
    static const std::string insert = std::string(
                                          "INSERT INTO tenants (name, slug, timezone, currency) "
                                          "VALUES ($1, $2, $3, $4) RETURNING ") +
                                      kColumns;
    static const Query kInsert{"tenant_insert", insert.c_str()};
    CreatedTenant out;
    out.tenant = row_to_tenant(tx.exec1(kInsert, req.name, req.slug, req.timezone, req.currency));
    if (email) {
      // The rest is tenant-owned: write it with the tenant set, as the daemon would.
      db::detail::set_tenant(tx, out.tenant.id);
      static const Query kUser{"tenant_admin_insert",
                               "INSERT INTO users (tenant_id, email, password_hash, role) "
                               "VALUES ($1, $2, $3, 'admin') RETURNING id::text"};
      static const Query kKey{"tenant_key_insert",
                              "INSERT INTO api_keys (tenant_id, name, prefix, key_hash, scopes) "
                              "VALUES ($1, 'default POS key', $2, $3, ARRAY['pos']) "};
      static const Query kAudit{"tenant_audit",
                                "INSERT INTO audit_log (tenant_id, actor_type, action, "
                                "entity_type, entity_id, after) VALUES ($1, 'operator', $2, $3, "
                                "$4, $5::jsonb)"};
      out.admin_user_id =
          tx.exec1(kUser, out.tenant.id, *email, *password_hash)[0].as<std::string>();
      tx.exec(kKey, out.tenant.id, key->prefix, key->secret_hash);
      tx.exec(kAudit, out.tenant.id, "tenant.create", "tenant", out.tenant.id,
              to_json(out.tenant).dump());
      tx.exec(kAudit, out.tenant.id, "user.create", "user", *out.admin_user_id,
              nlohmann::json{{"email", *email}, {"role", "admin"}}.dump());
      tx.exec(kAudit, out.tenant.id, "api_key.create", "api_key", key->prefix,
              nlohmann::json{{"prefix", key->prefix}, {"scopes", {"pos"}}}.dump());
      out.admin_email = email;
      out.admin_password = password;
      out.api_key = key->key;
    }
    return out;
  });
}

std::vector<Tenant> list_tenants(db::Database& database) {
  static const std::string sql =
      std::string("SELECT ") + kColumns + " FROM tenants ORDER BY created_at, id";
  static const Query kList{"tenant_list", sql.c_str()};
  return db::with_tx(database, [&](db::Tx& tx) {
    std::vector<Tenant> out;
    for (const auto& r : tx.exec(kList)) out.push_back(row_to_tenant(r));
    return out;
  });
}

Tenant find_tenant(db::Database& database, const std::string& id_or_slug) {
  return db::with_tx(database, [&](db::Tx& tx) { return find_in(tx, id_or_slug); });
}

Tenant suspend_tenant(db::Database& database, const std::string& id_or_slug) {
  static const Query kSuspend{"tenant_suspend",
                              "UPDATE tenants SET status = 'suspended', updated_at = now() "
                              "WHERE id = $1::uuid"};
  return db::with_tx(database, [&](db::Tx& tx) {
    Tenant t = find_in(tx, id_or_slug);
    if (t.status != "suspended") {
      tx.exec(kSuspend, t.id);
      t.status = "suspended";
    }
    return t;
  });
}

Tenant update_settings(db::Database& database, const std::string& id_or_slug,
                       const nlohmann::json& change, const Actor& actor) {
  std::vector<FieldError> errors;
  if (!change.is_object() || change.empty()) {
    throw_invalid(
        "the settings are not valid",
        {{"", "an object of the settings to change, e.g. {\"points_pending_days\": 14}"}});
  }
  for (const auto& [key, value] : change.items()) {
    if (key == "points_pending_days") {
      if (!value.is_number_integer() || value.get<long long>() < 0 ||
          value.get<long long>() > kMaxPointsPendingDays) {
        errors.push_back({"/points_pending_days", "a whole number of days, 0 to " +
                                                      std::to_string(kMaxPointsPendingDays) +
                                                      " (0: points are spendable at once)"});
      }
    } else {
      errors.push_back({"/" + key, "not a setting that can be changed here"});
    }
  }
  if (!errors.empty()) throw_invalid("the settings are not valid", errors);
  // The operator names a tenant by slug; loyaltyd by id, and can see only its own tenant's row.
  const std::string id = is_uuid(id_or_slug) ? id_or_slug : find_tenant(database, id_or_slug).id;
  static const std::string update =
      std::string(
          "UPDATE tenants SET settings = settings || $2::jsonb, updated_at = now() "
          "WHERE id = $1::uuid RETURNING ") +
      kColumns;
  static const Query kUpdate{"tenant_update_settings", update.c_str()};
  return db::with_tenant(database, id, [&](db::Tx& tx) {
    Tenant before = find_in(tx, id);
    Tenant after = row_to_tenant(tx.exec1(kUpdate, id, change.dump()));
    nlohmann::json was = nlohmann::json::object();
    for (const auto& [key, value] : change.items()) {
      was[key] = before.settings.contains(key) ? before.settings[key] : nlohmann::json();
    }
    audit::record(tx, id, actor, "tenant.settings", "tenant", id, was, change);
    return after;
  });
}

}  // namespace loyalty::tenants
