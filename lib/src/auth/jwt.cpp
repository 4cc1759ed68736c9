#include <loyalty/auth/jwt.hpp>

#include <loyalty/core/crypto.hpp>
#include <loyalty/core/error.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

namespace loyalty::auth {
namespace {

using nlohmann::json;

constexpr std::size_t kGeneratedSecretBytes = 32;

// Parses a decoded segment; anything but a JSON object is malformed. Never throws.
std::optional<json> parse_object(std::string_view segment) {
  const auto decoded = crypto::base64url_decode(segment);
  if (!decoded) return std::nullopt;
  json value = json::parse(*decoded, nullptr, /*allow_exceptions=*/false);
  if (!value.is_object()) return std::nullopt;
  return value;
}

enum class Field { absent, wrong_type, present };

// NumericDate per RFC 7519 §2: integer or fractional seconds; fractions are truncated down.
Field numeric_date(const json& object, const char* name, std::int64_t& out) {
  const auto it = object.find(name);
  if (it == object.end()) return Field::absent;
  if (it->is_number_integer() && !it->is_number_unsigned()) {
    out = it->get<std::int64_t>();
    return Field::present;
  }
  if (it->is_number_unsigned()) {
    const auto value = it->get<std::uint64_t>();
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return Field::wrong_type;
    }
    out = static_cast<std::int64_t>(value);
    return Field::present;
  }
  if (it->is_number_float()) {
    const double value = std::floor(it->get<double>());
    // 2^62 keeps the cast well-defined and is far beyond any real date.
    if (!std::isfinite(value) || std::fabs(value) > 4.6e18) return Field::wrong_type;
    out = static_cast<std::int64_t>(value);
    return Field::present;
  }
  return Field::wrong_type;
}

Field string_claim(const json& object, const char* name, std::string& out) {
  const auto it = object.find(name);
  if (it == object.end()) return Field::absent;
  if (!it->is_string()) return Field::wrong_type;
  out = it->get<std::string>();
  return Field::present;
}

JwtVerification refuse(JwtStatus status) { return JwtVerification{status, std::nullopt}; }

}  // namespace

std::string_view to_string(JwtStatus status) noexcept {
  switch (status) {
    case JwtStatus::ok:
      return "ok";
    case JwtStatus::malformed:
      return "malformed";
    case JwtStatus::bad_algorithm:
      return "bad_algorithm";
    case JwtStatus::unknown_key:
      return "unknown_key";
    case JwtStatus::bad_signature:
      return "bad_signature";
    case JwtStatus::expired:
      return "expired";
    case JwtStatus::not_yet_valid:
      return "not_yet_valid";
    case JwtStatus::missing_claim:
      return "missing_claim";
    case JwtStatus::bad_issuer:
      return "bad_issuer";
    case JwtStatus::bad_audience:
      return "bad_audience";
  }
  return "malformed";
}

JwtKeyring::JwtKeyring(std::map<std::string, std::string> secrets, std::string active_kid)
    : active_kid_(std::move(active_kid)) {
  if (secrets.empty()) throw_invalid("JWT keyring has no secrets");
  for (auto& [kid, secret] : secrets) {
    if (kid.empty()) throw_invalid("JWT keyring has an empty key id");
    if (secret.size() < kMinJwtSecretBytes) {
      // Never echo the secret itself.
      throw_invalid("JWT secret for key id '" + kid + "' is " + std::to_string(secret.size()) +
                    " bytes; at least " + std::to_string(kMinJwtSecretBytes) +
                    " random bytes are required");
    }
    secrets_.emplace(kid, std::move(secret));
  }
  if (secrets_.find(active_kid_) == secrets_.end()) {
    throw_invalid("JWT active key id '" + active_kid_ + "' is not among the configured secrets");
  }
}

JwtKeyring JwtKeyring::from_json(std::string_view secrets_json, std::string_view active_kid) {
  const json parsed = json::parse(secrets_json, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) {
    throw_invalid("JWT secrets must be a JSON object of key id to secret, e.g. {\"k1\":\"...\"}");
  }
  std::map<std::string, std::string> secrets;
  for (const auto& [kid, secret] : parsed.items()) {
    if (!secret.is_string()) throw_invalid("JWT secret for key id '" + kid + "' is not a string");
    secrets.emplace(kid, secret.get<std::string>());
  }
  std::string active(active_kid);
  if (active.empty()) {
    if (secrets.size() != 1) {
      throw_invalid("JWT active key id is required when several secrets are configured");
    }
    active = secrets.begin()->first;
  }
  return JwtKeyring(std::move(secrets), std::move(active));
}

std::vector<std::string> JwtKeyring::kids() const {
  std::vector<std::string> out;
  out.reserve(secrets_.size());
  for (const auto& entry : secrets_) out.push_back(entry.first);
  return out;
}

std::string JwtKeyring::sign(const Claims& claims) const {
  json payload = {{"iss", kJwtIssuer},   {"aud", kJwtAudience},
                  {"sub", claims.sub},   {"tenant_id", claims.tenant_id},
                  {"role", claims.role}, {"exp", claims.exp}};
  if (claims.iat) payload["iat"] = *claims.iat;
  if (claims.nbf) payload["nbf"] = *claims.nbf;
  if (claims.jti) payload["jti"] = *claims.jti;
  const json header = {{"alg", "HS256"}, {"typ", "JWT"}, {"kid", active_kid_}};
  std::string payload_text;
  try {
    payload_text = payload.dump();
  } catch (const json::exception&) {
    throw_invalid("JWT claims must be valid UTF-8");
  }
  std::string signing_input =
      crypto::base64url_encode(header.dump()) + "." + crypto::base64url_encode(payload_text);
  const std::string mac = crypto::hmac_sha256(secrets_.at(active_kid_), signing_input);
  return signing_input + "." + crypto::base64url_encode(mac);
}

JwtVerification JwtKeyring::verify(std::string_view token, std::chrono::sys_seconds now) const {
  if (token.empty() || token.size() > kMaxJwtLength) return refuse(JwtStatus::malformed);
  const auto first_dot = token.find('.');
  if (first_dot == std::string_view::npos) return refuse(JwtStatus::malformed);
  const auto second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos) {
    return refuse(JwtStatus::malformed);
  }
  const std::string_view header_segment = token.substr(0, first_dot);
  const std::string_view payload_segment = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature_segment = token.substr(second_dot + 1);
  const std::string_view signing_input = token.substr(0, second_dot);

  const auto header = parse_object(header_segment);
  if (!header) return refuse(JwtStatus::malformed);
  // The algorithm is ours to choose, never the token's: only HS256 exists here.
  const auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() || alg->get_ref<const std::string&>() != "HS256") {
    return refuse(JwtStatus::bad_algorithm);
  }
  // RFC 7515 §4.1.11: extensions we do not understand must make the token invalid.
  if (header->contains("crit")) return refuse(JwtStatus::bad_algorithm);

  const std::string* secret = nullptr;
  const auto kid = header->find("kid");
  if (kid == header->end()) {
    secret = &secrets_.at(active_kid_);
  } else {
    if (!kid->is_string()) return refuse(JwtStatus::malformed);
    const auto found = secrets_.find(kid->get_ref<const std::string&>());
    if (found == secrets_.end()) return refuse(JwtStatus::unknown_key);
    secret = &found->second;
  }

  const auto signature = crypto::base64url_decode(signature_segment);
  if (!signature) return refuse(JwtStatus::malformed);
  if (!crypto::constant_time_equals(*signature, crypto::hmac_sha256(*secret, signing_input))) {
    return refuse(JwtStatus::bad_signature);
  }

  // Only now, with the payload authenticated, is it parsed.
  const auto payload = parse_object(payload_segment);
  if (!payload) return refuse(JwtStatus::malformed);

  Claims claims;
  switch (numeric_date(*payload, "exp", claims.exp)) {
    case Field::absent:
      return refuse(JwtStatus::missing_claim);
    case Field::wrong_type:
      return refuse(JwtStatus::malformed);
    case Field::present:
      break;
  }
  for (const auto& [name, target] : {std::pair<const char*, std::string*>{"sub", &claims.sub},
                                     {"tenant_id", &claims.tenant_id},
                                     {"role", &claims.role}}) {
    switch (string_claim(*payload, name, *target)) {
      case Field::absent:
        return refuse(JwtStatus::missing_claim);
      case Field::wrong_type:
        return refuse(JwtStatus::malformed);
      case Field::present:
        break;
    }
  }
  // RFC 7519 §4.1.1 and §4.1.3: a token issued by someone else, or for someone else, is not
  // ours to honour even when signed with a secret we share.
  std::string issuer;
  switch (string_claim(*payload, "iss", issuer)) {
    case Field::absent:
      return refuse(JwtStatus::missing_claim);
    case Field::wrong_type:
      return refuse(JwtStatus::malformed);
    case Field::present:
      if (issuer != kJwtIssuer) return refuse(JwtStatus::bad_issuer);
      break;
  }
  const auto audience = payload->find("aud");
  if (audience == payload->end()) return refuse(JwtStatus::missing_claim);
  if (audience->is_string()) {
    if (audience->get_ref<const std::string&>() != kJwtAudience) {
      return refuse(JwtStatus::bad_audience);
    }
  } else if (audience->is_array()) {
    bool ours = false;
    for (const auto& entry : *audience) {
      if (!entry.is_string()) return refuse(JwtStatus::malformed);
      ours = ours || entry.get_ref<const std::string&>() == kJwtAudience;
    }
    if (!ours) return refuse(JwtStatus::bad_audience);
  } else {
    return refuse(JwtStatus::malformed);
  }

  std::int64_t value = 0;
  switch (numeric_date(*payload, "iat", value)) {
    case Field::absent:
      break;
    case Field::wrong_type:
      return refuse(JwtStatus::malformed);
    case Field::present:
      claims.iat = value;
      break;
  }
  switch (numeric_date(*payload, "nbf", value)) {
    case Field::absent:
      break;
    case Field::wrong_type:
      return refuse(JwtStatus::malformed);
    case Field::present:
      claims.nbf = value;
      break;
  }
  std::string jti;
  switch (string_claim(*payload, "jti", jti)) {
    case Field::absent:
      break;
    case Field::wrong_type:
      return refuse(JwtStatus::malformed);
    case Field::present:
      claims.jti = std::move(jti);
      break;
  }

  // Same boundaries as PyJWT: expired once exp <= now - leeway; premature while
  // nbf (or iat) > now + leeway.
  const std::int64_t now_s = now.time_since_epoch().count();
  const std::int64_t leeway = kJwtLeeway.count();
  if (claims.exp <= now_s - leeway) return refuse(JwtStatus::expired);
  if (claims.nbf && *claims.nbf > now_s + leeway) return refuse(JwtStatus::not_yet_valid);
  if (claims.iat && *claims.iat > now_s + leeway) return refuse(JwtStatus::not_yet_valid);
  return JwtVerification{JwtStatus::ok, std::move(claims)};
}

GeneratedJwtKeyring generate_jwt_keyring(std::string kid) {
  if (kid.empty()) kid = "k" + crypto::hex_encode(crypto::random_bytes(4));
  const std::string secret = crypto::base64url_encode(crypto::random_bytes(kGeneratedSecretBytes));
  return GeneratedJwtKeyring{kid, json{{kid, secret}}.dump()};
}

}  // namespace loyalty::auth
