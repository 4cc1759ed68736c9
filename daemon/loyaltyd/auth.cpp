// Authentication and authorization of every request, driven by the route table: the caller is
// identified (JWT, POS API key or HMAC signature), the path's tenant must be the caller's
// (else 404: another tenant's existence is never revealed; only an HMAC key the operator marked
// platform-wide acts for any tenant), the route's Allow bits must admit
// the caller's role (else 403), and the caller's and the address's token buckets must allow it
// (else 429 with Retry-After).
#include "server.hpp"

#include <loyalty/auth/jwt.hpp>
#include <loyalty/auth/tokens.hpp>

#include <spdlog/spdlog.h>

namespace loyaltyd {

namespace {

unsigned role_bit(const std::string& role) {
  if (role == "admin") return kAdmin;
  if (role == "manager") return kManager;
  if (role == "viewer") return kViewer;
  if (role == "pos") return kPos;
  return 0;
}

loyalty::Error unauthorized(const std::string& detail) {
  return loyalty::Error(loyalty::ErrorCode::unauthorized, "unauthorized", detail);
}

void throttle(loyalty::TokenBucketLimiter* limiter, const std::string& key) {
  if (!limiter) return;
  auto decision = limiter->acquire(key, loyalty::RateClock::now());
  if (!decision) {
    throw loyalty::Error(loyalty::ErrorCode::rate_limited, "rate-limited",
                         "too many requests; slow down")
        .extend("retry_after", std::to_string(decision.retry_after.count()));
  }
}

Principal authenticate(App& app, const Request& request) {
  const auto& raw = request.raw;
  if (raw.has_header(std::string(loyalty::auth::kSignatureHeader))) {
    if (!app.hmac) throw unauthorized("HMAC request signing is not configured");
    loyalty::auth::SignedRequest signed_request{
        raw.get_header_value(std::string(loyalty::auth::kKeyIdHeader)),
        raw.get_header_value(std::string(loyalty::auth::kTimestampHeader)),
        raw.get_header_value(std::string(loyalty::auth::kSignatureHeader))};
    // The signature covers the target as sent, query string included: raw.path is decoded and
    // without the query, so a signed request's parameters could be changed in transit.
    auto check = app.hmac->verify(
        signed_request, raw.method, raw.target, raw.body,
        std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
    if (check == loyalty::auth::RequestCheck::replay_cache_full) {
      throw loyalty::Error(loyalty::ErrorCode::unavailable, "busy",
                           "too many signed requests to check for replay; retry shortly");
    }
    if (check != loyalty::auth::RequestCheck::ok) {
      throw unauthorized("request signature refused: " +
                         std::string(loyalty::auth::to_string(check)));
    }
    const auto* key = app.hmac->keyring().find(signed_request.key_id);
    return {Principal::Kind::hmac, signed_request.key_id, key->tenant_id, "pos"};
  }

  std::string header = raw.get_header_value("Authorization");
  if (header.rfind("Bearer ", 0) != 0 || header.size() <= 7) {
    throw unauthorized("a credential is required: Authorization: Bearer <token or API key>");
  }
  std::string credential = header.substr(7);
  if (credential.rfind(loyalty::auth::kApiKeyTag, 0) == 0) {
    auto key = loyalty::auth::authenticate_api_key(*app.db, credential);
    if (!key) throw unauthorized("the API key is not valid or was revoked");
    return {Principal::Kind::api_key, key->prefix, key->tenant_id, "pos"};
  }
  auto verified = app.sessions->verify_access(credential);
  if (!verified) {
    throw unauthorized("the access token is not valid (" + std::string(verified.reason()) + ")");
  }
  return {Principal::Kind::user, verified.claims->sub, verified.claims->tenant_id,
          verified.claims->role};
}

}  // namespace

void init_security(App& app) {
  if (app.settings.jwt_secrets.empty() && !app.settings.database_url.empty()) {
    // A shared database suggests other daemons: each would sign with its own generated secret
    // and refuse the others' tokens.
    spdlog::warn(
        R"("msg":"auth.jwt_secrets_generated","detail":"JWT secrets come from the data directory of this host; set jwt-secrets (the same on every daemon) when more than one serves this database")");
  }
  auto keyring = loyalty::auth::load_jwt_keyring(
      app.settings.jwt_secrets, app.settings.jwt_active_kid, app.settings.data_dir);
  app.sessions = std::make_unique<loyalty::auth::SessionService>(*app.db, std::move(keyring));
  if (!app.settings.hmac_keys_json.empty()) {
    app.hmac = std::make_unique<loyalty::auth::RequestVerifier>(
        loyalty::auth::HmacKeyring::from_json(app.settings.hmac_keys_json));
  }
  app.trusted_proxies = loyalty::TrustedProxies::parse(app.settings.trusted_proxies);
  app.ussd_gateways = loyalty::TrustedProxies::parse(app.settings.ussd_allowed_addresses);
  if (app.settings.rate_limit_per_key > 0) {
    double rate = app.settings.rate_limit_per_key;
    app.per_credential = std::make_unique<loyalty::TokenBucketLimiter>(
        loyalty::TokenBucketConfig{rate, rate * 2, 100'000});
  }
  if (app.settings.rate_limit_per_ip > 0) {
    double rate = app.settings.rate_limit_per_ip;
    app.per_ip = std::make_unique<loyalty::TokenBucketLimiter>(
        loyalty::TokenBucketConfig{rate, rate * 2, 100'000});
  }
}

loyalty::Actor actor_of(const Request& request) {
  switch (request.principal.kind) {
    case Principal::Kind::user:
      return {"user", request.principal.id};
    case Principal::Kind::api_key:
      return {"api_key", request.principal.id};
    case Principal::Kind::hmac:
      return {"api_key", "hmac:" + request.principal.id};
    case Principal::Kind::none:
      break;
  }
  return loyalty::Actor::system();
}

void Server::authorize(Request& request, const Route& route) {
  throttle(app_.per_ip.get(), "ip:" + request.client_ip);
  if (route.allow == kPublic) return;

  Principal principal = authenticate(app_, request);
  auto tid = request.params.find("tid");
  if (tid != request.params.end()) {
    // A platform-wide HMAC key (the operator's explicit choice) acts for the path's tenant;
    // every other credential belongs to one tenant, and another tenant's path does not exist.
    if (principal.kind == Principal::Kind::hmac && principal.tenant_id.empty()) {
      principal.tenant_id = tid->second;
    }
    if (tid->second != principal.tenant_id) {
      throw loyalty::Error(loyalty::ErrorCode::not_found, "not-found", "no such resource");
    }
    request.tenant_id = tid->second;
  }
  if ((route.allow & role_bit(principal.role)) == 0) {
    throw loyalty::Error(loyalty::ErrorCode::forbidden, "forbidden",
                         "the " + principal.role + " role may not do this");
  }
  throttle(app_.per_credential.get(), "cred:" + principal.id);
  request.principal = std::move(principal);
}

}  // namespace loyaltyd
