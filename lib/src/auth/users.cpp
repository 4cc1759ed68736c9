#include "audit/audit.hpp"
#include "db/tx.hpp"

#include <loyalty/auth/password.hpp>
#include <loyalty/auth/tokens.hpp>
#include <loyalty/auth/users.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/core/uuid.hpp>

#include <regex>
#include <sstream>

namespace loyalty::auth {

namespace {

using db::Query;

#define LOYALTY_TS(col) \
  "coalesce(to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')"
// The sort key of a page cursor: created_at to the microsecond.
#define LOYALTY_CURSOR_KEY \
  "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

const Query kInsertUser{"users_insert",
                        "INSERT INTO users (tenant_id, email, password_hash, role) "
                        "VALUES ($1::uuid, $2, $3, $4) RETURNING id::text"};
const Query kEmailTaken{"users_email_taken", "SELECT EXISTS (SELECT 1 FROM auth_find_user($1))"};
const Query kListUsers{
    "users_list",
    "SELECT id::text, tenant_id::text, email, role, status, " LOYALTY_TS(
        "created_at") ", " LOYALTY_TS("last_login_at") ", " LOYALTY_CURSOR_KEY
                                                       " FROM users WHERE tenant_id = $1::uuid AND "
                                                       "($2 = '' OR (created_at, id) > "
                                                       "($2::timestamptz, $3::uuid)) ORDER BY "
                                                       "created_at, id LIMIT $4"};
const Query kFindUser{"users_find",
                      "SELECT id::text, tenant_id::text, email, role, status, " LOYALTY_TS(
                          "created_at") ", " LOYALTY_TS("last_login_at") " FROM users WHERE "
                                                                          "tenant_id = $1::uuid "
                                                                          "AND (id::text = $2 OR "
                                                                          "email = lower($2))"};
const Query kDisableUser{"users_disable",
                         "UPDATE users SET status = 'disabled', updated_at = now() "
                         "WHERE id = $1::uuid"};
const Query kRevokeUserTokens{"users_revoke_tokens",
                              "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = "
                              "$1::uuid AND revoked_at IS NULL"};
const Query kInsertKey{
    "keys_insert",
    "INSERT INTO api_keys (tenant_id, name, prefix, key_hash, scopes) "
    "VALUES ($1::uuid, $2, $3, $4, string_to_array($5, ',')) RETURNING id::text"};
const Query kListKeys{"keys_list",
                      "SELECT id::text, name, prefix, array_to_string(scopes, ','), " LOYALTY_TS(
                          "created_at") ", " LOYALTY_TS("last_used_at") ", " LOYALTY_TS(
                          "revoked_at") ", " LOYALTY_CURSOR_KEY
                      " FROM api_keys WHERE tenant_id = $1::uuid AND ($2 = '' OR (created_at, id) "
                      "> ($2::timestamptz, $3::uuid)) ORDER BY created_at, id LIMIT $4"};
const Query kFindKey{"keys_find",
                     "SELECT id::text, name, prefix, array_to_string(scopes, ','), " LOYALTY_TS(
                         "created_at") ", " LOYALTY_TS("last_used_at") ", " LOYALTY_TS(
                         "revoked_at") " FROM api_keys WHERE tenant_id = $1::uuid AND (id::text "
                                       "= $2 OR prefix = $2) FOR UPDATE"};
const Query kRevokeKey{"keys_revoke",
                       "UPDATE api_keys SET revoked_at = now() WHERE id = $1::uuid AND "
                       "revoked_at IS NULL"};

#undef LOYALTY_TS
#undef LOYALTY_CURSOR_KEY

User row_to_user(const pqxx::row& r) {
  return {r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
          r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>(),
          r[6].as<std::string>()};
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

ApiKeyInfo row_to_key(const pqxx::row& r) {
  return {r[0].as<std::string>(),        r[1].as<std::string>(), r[2].as<std::string>(),
          split(r[3].as<std::string>()), r[4].as<std::string>(), r[5].as<std::string>(),
          r[6].as<std::string>()};
}

/// One page of a list query taking (tenant, cursor key, cursor id, limit) whose column 7 is
/// the cursor key.
template <typename T, typename RowFn, typename IdFn>
Page<T> list_page(db::Database& database, const std::string& tenant_id, const Query& query,
                  const PageRequest& page, RowFn to_item, IdFn id_of) {
  auto after = decode_keyed_cursor(page.cursor);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    std::string last_key;  // of the last row converted: the item does not carry it
    auto rows = tx.exec(query, tenant_id, after.key,
                        after.id.empty() ? std::optional<std::string>() : after.id, page.limit + 1);
    return fill_page<T>(
        rows, page.limit,
        [&](const pqxx::row& r) {
          last_key = r[7].as<std::string>();
          return to_item(r);
        },
        [&](const T& item) {
          return CursorPosition{last_key, id_of(item)};
        });
  });
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

}  // namespace

nlohmann::json to_json(const User& u) {
  nlohmann::json j = {{"id", u.id},
                      {"tenant_id", u.tenant_id},
                      {"email", u.email},
                      {"role", u.role},
                      {"status", u.status},
                      {"created_at", u.created_at},
                      {"last_login_at", nullptr}};
  if (!u.last_login_at.empty()) j["last_login_at"] = u.last_login_at;
  return j;
}

nlohmann::json to_json(const ApiKeyInfo& k) {
  nlohmann::json j = {{"id", k.id},
                      {"name", k.name},
                      {"prefix", k.prefix},
                      {"scopes", k.scopes},
                      {"created_at", k.created_at},
                      {"last_used_at", nullptr},
                      {"revoked_at", nullptr}};
  if (!k.last_used_at.empty()) j["last_used_at"] = k.last_used_at;
  if (!k.revoked_at.empty()) j["revoked_at"] = k.revoked_at;
  return j;
}

CreatedUser create_user(db::Database& database, const std::string& tenant_id,
                        const std::string& email_in, const std::string& role,
                        const std::optional<std::string>& password, const Actor& actor) {
  static const std::regex kEmail("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$");
  std::string email = email_in;
  for (auto& c : email) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::vector<FieldError> errors;
  if (email.size() > kMaxEmailLength || !std::regex_match(email, kEmail)) {
    errors.push_back({"/email", "not an email address"});
  }
  if (role != "admin" && role != "manager" && role != "viewer") {
    errors.push_back({"/role", "role must be admin, manager or viewer"});
  }
  if (password && (password->size() < 12 || password->size() > 256)) {
    errors.push_back({"/password", "password must be 12 to 256 characters"});
  }
  if (!errors.empty()) throw_invalid("the user is not valid", errors);

  CreatedUser out;
  out.password = password ? *password : generate_password();
  std::string hash = hash_password(out.password);
  out.user = db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    if (tx.exec1(kEmailTaken, email)[0].as<bool>()) {
      throw_conflict("email-taken", "a user with this email already exists");
    }
    auto id = tx.exec1(kInsertUser, tenant_id, email, hash, role)[0].as<std::string>();
    User u = row_to_user(tx.exec1(kFindUser, tenant_id, id));
    audit::record(tx, tenant_id, actor, "user.create", "user", id, nullptr, to_json(u));
    return u;
  });
  return out;
}

Page<User> list_users(db::Database& database, const std::string& tenant_id,
                      const PageRequest& page) {
  return list_page<User>(database, tenant_id, kListUsers, page, row_to_user,
                         [](const User& u) { return u.id; });
}

User find_user(db::Database& database, const std::string& tenant_id,
               const std::string& id_or_email) {
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto rows = tx.exec(kFindUser, tenant_id, id_or_email);
    if (rows.empty()) throw_not_found("user");
    return row_to_user(rows[0]);
  });
}

User disable_user(db::Database& database, const std::string& tenant_id, const std::string& user_id,
                  const Actor& actor) {
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto rows = tx.exec(kFindUser, tenant_id, user_id);
    if (rows.empty()) throw_not_found("user");
    User before = row_to_user(rows[0]);
    tx.exec(kDisableUser, before.id);
    tx.exec(kRevokeUserTokens, before.id);
    User after = before;
    after.status = "disabled";
    audit::record(tx, tenant_id, actor, "user.disable", "user", before.id, to_json(before),
                  to_json(after));
    return after;
  });
}

CreatedApiKey create_api_key(db::Database& database, const std::string& tenant_id,
                             const std::string& name, const std::vector<std::string>& scopes,
                             const Actor& actor) {
  std::vector<FieldError> errors;
  if (name.empty() || name.size() > 200)
    errors.push_back({"/name", "name must be 1 to 200 characters"});
  if (scopes.empty()) errors.push_back({"/scopes", "at least one scope"});
  for (std::size_t i = 0; i < scopes.size(); ++i) {
    if (scopes[i] != "pos") {
      errors.push_back({"/scopes/" + std::to_string(i), "unknown scope (known: pos)"});
    }
  }
  if (!errors.empty()) throw_invalid("the API key is not valid", errors);
  auto generated = generate_api_key();
  CreatedApiKey out;
  out.key = generated.key;
  out.info = db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto id = tx.exec1(kInsertKey, tenant_id, name, generated.prefix, generated.secret_hash,
                       join(scopes))[0]
                  .as<std::string>();
    ApiKeyInfo info = row_to_key(tx.exec1(kFindKey, tenant_id, id));
    audit::record(tx, tenant_id, actor, "api_key.create", "api_key", id, nullptr, to_json(info));
    return info;
  });
  return out;
}

Page<ApiKeyInfo> list_api_keys(db::Database& database, const std::string& tenant_id,
                               const PageRequest& page) {
  return list_page<ApiKeyInfo>(database, tenant_id, kListKeys, page, row_to_key,
                               [](const ApiKeyInfo& k) { return k.id; });
}

ApiKeyInfo revoke_api_key(db::Database& database, const std::string& tenant_id,
                          const std::string& id_or_prefix, const Actor& actor) {
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto rows = tx.exec(kFindKey, tenant_id, id_or_prefix);
    if (rows.empty()) throw_not_found("API key");
    ApiKeyInfo before = row_to_key(rows[0]);
    tx.exec(kRevokeKey, before.id);
    ApiKeyInfo after = row_to_key(tx.exec1(kFindKey, tenant_id, before.id));
    audit::record(tx, tenant_id, actor, "api_key.revoke", "api_key", before.id, to_json(before),
                  to_json(after));
    return after;
  });
}

}  // namespace loyalty::auth
