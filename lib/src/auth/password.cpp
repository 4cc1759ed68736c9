#include <loyalty/auth/password.hpp>

#include <loyalty/core/crypto.hpp>
#include <loyalty/core/error.hpp>

#include <sodium.h>

#include <cerrno>

namespace loyalty::auth {
namespace {

constexpr std::string_view kUnambiguousAlphabet =
    "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

bool sodium_ready() noexcept {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

// libsodium reads the stored hash as a NUL-terminated string of bounded length.
bool copy_hash(std::string_view stored_hash, char (&out)[crypto_pwhash_STRBYTES]) noexcept {
  if (stored_hash.empty() || stored_hash.size() >= crypto_pwhash_STRBYTES) return false;
  if (stored_hash.find('\0') != std::string_view::npos) return false;
  stored_hash.copy(out, stored_hash.size());
  out[stored_hash.size()] = '\0';
  return true;
}

}  // namespace

std::string hash_password(std::string_view password, PasswordParams params) {
  if (!sodium_ready()) throw Error(ErrorCode::internal, "internal", "libsodium unavailable");
  if (params.ops_limit < crypto_pwhash_OPSLIMIT_MIN ||
      params.ops_limit > crypto_pwhash_OPSLIMIT_MAX ||
      params.mem_limit_bytes < crypto_pwhash_MEMLIMIT_MIN ||
      params.mem_limit_bytes > crypto_pwhash_MEMLIMIT_MAX) {
    throw_invalid("argon2id parameters out of libsodium's range");
  }
  if (password.size() > crypto_pwhash_PASSWD_MAX) throw_invalid("password too long");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), params.ops_limit,
                            params.mem_limit_bytes, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw Error(ErrorCode::internal, "internal", "argon2id hashing ran out of memory");
  }
  return std::string(out);
}

bool verify_password(std::string_view password, std::string_view stored_hash) noexcept {
  if (!sodium_ready()) return false;
  char hash[crypto_pwhash_STRBYTES];
  if (!copy_hash(stored_hash, hash)) return false;
  // Only argon2id: an argon2i or foreign hash in the users table is a bug, not a login.
  if (std::string_view(hash).rfind("$argon2id$", 0) != 0) return false;
  return crypto_pwhash_str_verify(hash, password.data(), password.size()) == 0;
}

bool needs_rehash(std::string_view stored_hash, PasswordParams params) noexcept {
  if (!sodium_ready()) return true;
  char hash[crypto_pwhash_STRBYTES];
  if (!copy_hash(stored_hash, hash)) return true;
  // crypto_pwhash_str_needs_rehash answers 1 for other parameters and -1 for a string that is
  // not argon2id at all; both mean the stored hash should be replaced.
  return crypto_pwhash_str_needs_rehash(hash, params.ops_limit, params.mem_limit_bytes) != 0;
}

bool verify_password_against_dummy(std::string_view password) noexcept {
  try {
    static const std::string dummy = hash_password(crypto::random_bytes(16));
    verify_password(password, dummy);
  } catch (...) {
    // Timing equalisation is best effort; the answer is false either way.
  }
  return false;
}

std::string generate_password() {
  return crypto::random_string(kGeneratedPasswordLength, kUnambiguousAlphabet);
}

}  // namespace loyalty::auth
