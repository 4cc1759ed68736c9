#include "audit/audit.hpp"
#include "db/tx.hpp"

#include <loyalty/auth/password.hpp>
#include <loyalty/auth/sessions.hpp>
#include <loyalty/auth/tokens.hpp>
#include <loyalty/auth/users.hpp>
#include <loyalty/core/crypto.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/core/uuid.hpp>

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>

namespace loyalty::auth {

namespace {

using db::Query;

const Query kFindUser{"auth_find_user",
                      "SELECT user_id::text, tenant_id::text, password_hash, role, status, "
                      "tenant_status FROM auth_find_user($1)"};
const Query kLoginOk{"auth_login_ok", "UPDATE users SET last_login_at = now() WHERE id = $1::uuid"};
const Query kRehash{"auth_rehash",
                    "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1::uuid"};
const Query kInsertRefresh{
    "auth_insert_refresh",
    "INSERT INTO refresh_tokens (tenant_id, user_id, family_id, token_hash, expires_at) "
    "VALUES ($1::uuid, $2::uuid, coalesce($3::uuid, gen_random_uuid()), $4, now() + $5 * "
    "interval '1 second') RETURNING id::text"};
const Query kFindRefresh{"auth_find_refresh",
                         "SELECT token_id::text, tenant_id::text FROM auth_find_refresh_token($1)"};
const Query kLockRefresh{
    "auth_lock_refresh",
    "SELECT r.id::text, r.family_id::text, r.user_id::text, r.revoked_at IS NOT NULL, "
    "r.expires_at < now(), u.role, u.status, t.status "
    "FROM refresh_tokens r JOIN users u ON u.id = r.user_id JOIN tenants t ON t.id = r.tenant_id "
    "WHERE r.id = $1::uuid FOR UPDATE OF r"};
const Query kRevokeFamily{"auth_revoke_family",
                          "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1::uuid "
                          "AND revoked_at IS NULL"};
const Query kRotate{"auth_rotate",
                    "UPDATE refresh_tokens SET revoked_at = now(), replaced_by = $2::uuid "
                    "WHERE id = $1::uuid"};
const Query kFindKey{
    "auth_find_key",
    "SELECT key_id::text, tenant_id::text, key_hash, array_to_string(scopes, ','), "
    "revoked, tenant_status FROM auth_find_api_key($1)"};
const Query kKeyUsed{"auth_key_used",
                     "UPDATE api_keys SET last_used_at = now() WHERE id = $1::uuid"};
const Query kUserStanding{"auth_user_standing", R"sql(
  SELECT u.status = 'active' AND t.status = 'active' AS active, u.role
    FROM users u JOIN tenants t ON t.id = u.tenant_id
   WHERE u.tenant_id = $1::uuid AND u.id = $2::uuid
)sql"};

// Standings remembered at most; past it, expired ones are dropped, then all if need be. Only
// users with a genuine token get here, so the real bound is the number of active users.
constexpr std::size_t kMaxRememberedStandings = 100'000;

Error invalid_credentials() {
  return Error(ErrorCode::unauthorized, "invalid-credentials", "email or password is wrong");
}

Error refresh_refused() {
  return Error(ErrorCode::unauthorized, "invalid-refresh-token",
               "the refresh token is not valid; log in again");
}

std::vector<std::string> split_csv(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

}  // namespace

struct SessionService::StandingCache {
  struct Entry {
    bool active = false;
    std::string role;
    std::chrono::steady_clock::time_point checked;
  };
  std::mutex mutex;
  std::unordered_map<std::string, Entry> by_user;
};

std::string_view AccessVerification::reason() const noexcept {
  if (status == AccessStatus::user_inactive) return "user_inactive";
  return to_string(token);
}

SessionService::SessionService(db::Database& db, JwtKeyring keyring, LoginThrottleConfig throttle)
    : db_(db),
      keyring_(std::move(keyring)),
      throttle_(throttle),
      standing_(std::make_unique<StandingCache>()) {}

SessionService::~SessionService() = default;

SessionTokens SessionService::issue(const std::string& user_id, const std::string& tenant_id,
                                    const std::string& role, const std::string& refresh_token) {
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  Claims claims;
  claims.sub = user_id;
  claims.tenant_id = tenant_id;
  claims.role = role;
  claims.iat = now.time_since_epoch().count();
  claims.exp = (now + kAccessTokenLifetime).time_since_epoch().count();
  claims.jti = crypto::hex_encode(crypto::random_bytes(12));
  SessionTokens tokens;
  tokens.access_token = keyring_.sign(claims);
  tokens.refresh_token = refresh_token;
  tokens.user_id = user_id;
  tokens.tenant_id = tenant_id;
  tokens.role = role;
  return tokens;
}

SessionTokens SessionService::login(const std::string& email, const std::string& password,
                                    const std::string& client_ip) {
  // Before the throttle, the lookup and the hashing: no email this long can exist, and a
  // megabyte of one costs nothing but this comparison.
  if (email.size() > kMaxEmailLength) {
    throw_invalid(
        "the login is not valid: /email is too long",
        {{"/email", "must be at most " + std::to_string(kMaxEmailLength) + " characters"}});
  }
  std::string account = email;
  for (auto& c : account) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto now = RateClock::now();
  if (auto wait = throttle_.check(account, client_ip, now)) {
    throw Error(ErrorCode::rate_limited, "too-many-attempts",
                "too many failed logins; try again later")
        .extend("retry_after", std::to_string(wait->count()));
  }

  struct Found {
    std::string user_id, tenant_id, hash, role;
    bool usable = false;
  };
  auto found = db::with_tx(db_, [&](db::Tx& tx) {
    Found f;
    auto rows = tx.exec(kFindUser, account);
    if (rows.empty()) return f;
    f.user_id = rows[0][0].as<std::string>();
    f.tenant_id = rows[0][1].as<std::string>();
    f.hash = rows[0][2].as<std::string>();
    f.role = rows[0][3].as<std::string>();
    f.usable = rows[0][4].as<std::string>() == "active" && rows[0][5].as<std::string>() == "active";
    return f;
  });

  // The same work and the same answer whether the email or the password was wrong.
  bool ok = found.hash.empty() ? verify_password_against_dummy(password)
                               : verify_password(password, found.hash);
  if (!ok || !found.usable) {
    throttle_.record_failure(account, client_ip, now);
    spdlog::debug("auth.login_failed");
    throw invalid_credentials();
  }
  throttle_.record_success(account);

  std::optional<std::string> rehashed;
  if (needs_rehash(found.hash)) rehashed = hash_password(password);
  auto refresh = generate_refresh_token();
  db::with_tenant(db_, found.tenant_id, [&](db::Tx& tx) {
    tx.exec(kLoginOk, found.user_id);
    if (rehashed) tx.exec(kRehash, found.user_id, *rehashed);
    tx.exec(kInsertRefresh, found.tenant_id, found.user_id, std::optional<std::string>(),
            refresh.hash, static_cast<long long>(kRefreshTokenLifetime.count()));
  });
  return issue(found.user_id, found.tenant_id, found.role, refresh.token);
}

SessionTokens SessionService::refresh(const std::string& refresh_token) {
  if (refresh_token.empty() || refresh_token.size() > 256) throw refresh_refused();
  std::string hash = hash_refresh_token(refresh_token);
  auto located = db::with_tx(db_, [&](db::Tx& tx) {
    auto rows = tx.exec(kFindRefresh, hash);
    if (rows.empty()) return std::pair<std::string, std::string>();
    return std::pair{rows[0][0].as<std::string>(), rows[0][1].as<std::string>()};
  });
  if (located.first.empty()) throw refresh_refused();

  enum class Outcome { rotated, reused, refused };
  struct Result {
    Outcome outcome = Outcome::refused;
    std::string user_id, role;
  };
  auto next = generate_refresh_token();
  // Reuse detection must commit the family's revocation, so the outcome is returned and the
  // error thrown after the transaction.
  auto result = db::with_tenant(db_, located.second, [&](db::Tx& tx) {
    Result r;
    auto rows = tx.exec(kLockRefresh, located.first);
    if (rows.empty()) return r;
    const auto& row = rows[0];
    std::string family = row[1].as<std::string>();
    if (row[3].as<bool>()) {
      tx.exec(kRevokeFamily, family);
      r.outcome = Outcome::reused;
      return r;
    }
    if (row[4].as<bool>() || row[6].as<std::string>() != "active" ||
        row[7].as<std::string>() != "active") {
      tx.exec(kRevokeFamily, family);
      return r;
    }
    r.user_id = row[2].as<std::string>();
    r.role = row[5].as<std::string>();
    auto new_id = tx.exec1(kInsertRefresh, located.second, r.user_id, family, next.hash,
                           static_cast<long long>(kRefreshTokenLifetime.count()))[0]
                      .as<std::string>();
    tx.exec(kRotate, located.first, new_id);
    r.outcome = Outcome::rotated;
    return r;
  });
  if (result.outcome == Outcome::reused) {
    spdlog::warn("auth.refresh_reuse tenant={} family revoked", located.second);
    throw refresh_refused();
  }
  if (result.outcome != Outcome::rotated) throw refresh_refused();
  return issue(result.user_id, located.second, result.role, next.token);
}

void SessionService::logout(const std::string& refresh_token) {
  if (refresh_token.empty() || refresh_token.size() > 256) return;
  std::string hash = hash_refresh_token(refresh_token);
  auto located = db::with_tx(db_, [&](db::Tx& tx) {
    auto rows = tx.exec(kFindRefresh, hash);
    if (rows.empty()) return std::pair<std::string, std::string>();
    return std::pair{rows[0][0].as<std::string>(), rows[0][1].as<std::string>()};
  });
  if (located.first.empty()) return;
  db::with_tenant(db_, located.second, [&](db::Tx& tx) {
    auto rows = tx.exec(kLockRefresh, located.first);
    if (!rows.empty()) tx.exec(kRevokeFamily, rows[0][1].as<std::string>());
  });
}

AccessVerification SessionService::verify_access(const std::string& token) const {
  auto verified = keyring_.verify(
      token, std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  if (!verified) return {AccessStatus::token_refused, verified.status, std::nullopt};
  if (!user_in_good_standing(*verified.claims)) {
    return {AccessStatus::user_inactive, verified.status, std::nullopt};
  }
  return {AccessStatus::ok, verified.status, std::move(verified.claims)};
}

bool SessionService::user_in_good_standing(const Claims& claims) const {
  if (!is_uuid(claims.sub) || !is_uuid(claims.tenant_id)) return false;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(standing_->mutex);
    auto it = standing_->by_user.find(claims.sub);
    if (it != standing_->by_user.end() && now - it->second.checked < kUserStandingTtl) {
      return it->second.active && it->second.role == claims.role;
    }
  }
  StandingCache::Entry entry;
  entry.checked = now;
  db::with_tenant(db_, claims.tenant_id, [&](db::Tx& tx) {
    auto rows = tx.exec(kUserStanding, claims.tenant_id, claims.sub);
    if (rows.empty()) return;
    entry.active = rows[0]["active"].as<bool>();
    entry.role = rows[0]["role"].as<std::string>();
  });
  const bool good = entry.active && entry.role == claims.role;
  std::lock_guard lock(standing_->mutex);
  auto& remembered = standing_->by_user;
  if (remembered.size() >= kMaxRememberedStandings) {
    for (auto it = remembered.begin(); it != remembered.end();) {
      it = now - it->second.checked >= kUserStandingTtl ? remembered.erase(it) : std::next(it);
    }
    if (remembered.size() >= kMaxRememberedStandings) remembered.clear();
  }
  remembered[claims.sub] = std::move(entry);
  return good;
}

std::optional<ApiKeyPrincipal> authenticate_api_key(db::Database& database,
                                                    const std::string& presented) {
  auto parsed = parse_api_key(presented);
  if (!parsed) return std::nullopt;
  struct Row {
    std::string id, tenant, hash, scopes;
    bool usable = false;
  };
  auto row = db::read_once(database, [&](db::Tx& tx) {
    Row r;
    auto rows = tx.exec(kFindKey, parsed->prefix);
    if (rows.empty()) return r;
    r.id = rows[0][0].as<std::string>();
    r.tenant = rows[0][1].as<std::string>();
    r.hash = rows[0][2].as<std::string>();
    r.scopes = rows[0][3].as<std::string>();
    r.usable = !rows[0][4].as<bool>() && rows[0][5].as<std::string>() == "active";
    return r;
  });
  if (row.id.empty() || !api_key_secret_matches(parsed->secret, row.hash) || !row.usable) {
    return std::nullopt;
  }
  // last_used_at is written at most once a minute per key per process: no write per request.
  static std::mutex mutex;
  static std::unordered_map<std::string, std::chrono::steady_clock::time_point> last_write;
  auto now = std::chrono::steady_clock::now();
  bool write = false;
  {
    std::lock_guard lock(mutex);
    auto& at = last_write[row.id];
    if (at.time_since_epoch().count() == 0 || now - at > std::chrono::minutes(1)) {
      at = now;
      write = true;
    }
  }
  if (write) db::with_tenant(database, row.tenant, [&](db::Tx& tx) { tx.exec(kKeyUsed, row.id); });
  return ApiKeyPrincipal{row.id, parsed->prefix, row.tenant, split_csv(row.scopes)};
}

JwtKeyring load_jwt_keyring(const std::string& secrets_json, const std::string& active_kid,
                            const std::string& data_dir) {
  if (!secrets_json.empty()) return JwtKeyring::from_json(secrets_json, active_kid);
  namespace fs = std::filesystem;
  fs::path path = fs::path(data_dir.empty() ? "./var" : data_dir) / "jwt-secrets.json";
  if (!fs::exists(path)) {
    fs::create_directories(path.parent_path());
    auto generated = generate_jwt_keyring();
    // Written under a temporary name and linked into place, so concurrent first starts agree.
    fs::path tmp = path.string() + ".tmp." + crypto::hex_encode(crypto::random_bytes(6));
    {
      std::ofstream out(tmp);
      out << generated.json;
    }
    ::chmod(tmp.c_str(), 0600);
    std::error_code ec;
    fs::create_hard_link(tmp, path, ec);
    fs::remove(tmp);
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return JwtKeyring::from_json(text.str(), active_kid);
}

}  // namespace loyalty::auth
