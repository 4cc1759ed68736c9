#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace loyalty::auth {

/// argon2id cost parameters (libsodium: one lane, so OWASP's p=1).
struct PasswordParams {
  std::uint64_t ops_limit;      ///< iterations (t)
  std::size_t mem_limit_bytes;  ///< memory (m)
};

/// The parameters new hashes use: OWASP's argon2id baseline, m = 19 MiB, t = 2, p = 1.
inline constexpr PasswordParams kPasswordParams{2, std::size_t{19} * 1024 * 1024};

/// Length of passwords from generate_password().
inline constexpr std::size_t kGeneratedPasswordLength = 20;

/// Hashes a password with argon2id into a self-describing PHC string
/// ("$argon2id$v=19$m=19456,t=2,p=1$..."), salted randomly. Thread-safe; takes tens of
/// milliseconds and `params.mem_limit_bytes` of memory. Throws Error(invalid) for parameters
/// libsodium refuses and Error(internal) if memory cannot be allocated.
std::string hash_password(std::string_view password, PasswordParams params = kPasswordParams);

/// True when `password` matches `stored_hash`; false for a wrong password or a hash that is not
/// an argon2id string. Thread-safe; never throws.
bool verify_password(std::string_view password, std::string_view stored_hash) noexcept;

/// True when `stored_hash` was made with parameters other than `params` (or is not an argon2id
/// string at all), so the caller should store hash_password(password) after a successful login.
bool needs_rehash(std::string_view stored_hash, PasswordParams params = kPasswordParams) noexcept;

/// Spends about the time of one verify_password() against a fixed dummy hash and returns false,
/// so a login for an unknown email takes as long as one with a wrong password.
bool verify_password_against_dummy(std::string_view password) noexcept;

/// A random password of kGeneratedPasswordLength characters from an alphabet without look-alike
/// characters (no 0/O, 1/l/I), about 116 bits of entropy; meant to be printed once.
std::string generate_password();

}  // namespace loyalty::auth
