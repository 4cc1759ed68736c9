#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

/// Small cryptographic helpers shared by auth, webhooks and channels.
///
/// Byte strings are carried in `std::string` (any byte value, including NUL); text encodings
/// (hex, base64) are plain ASCII strings. Every function is thread-safe.
namespace loyalty::crypto {

/// Returns `count` bytes from the operating system's CSPRNG (libsodium `randombytes_buf`).
/// Throws Error(internal) if libsodium cannot be initialised.
std::string random_bytes(std::size_t count);

/// Returns `length` characters drawn uniformly (no modulo bias) from `alphabet`.
/// Throws Error(invalid) if `alphabet` is empty or longer than 256 characters.
std::string random_string(std::size_t length, std::string_view alphabet);

/// Encodes bytes as lowercase hexadecimal: "\x01\xab" → "01ab".
std::string hex_encode(std::string_view bytes);

/// Decodes hexadecimal (either case); std::nullopt on an odd length or a non-hex character.
std::optional<std::string> hex_decode(std::string_view hex);

/// Encodes bytes as standard base64 (RFC 4648 §4) with `=` padding.
std::string base64_encode(std::string_view bytes);

/// Decodes standard base64, with or without trailing `=` padding (as the Standard Webhooks
/// reference libraries do); std::nullopt on any character outside the alphabet, misplaced
/// padding or an impossible length. Unused low bits of the last character are ignored.
std::optional<std::string> base64_decode(std::string_view text);

/// Encodes bytes as unpadded base64url (RFC 4648 §5), the encoding of JWT segments.
std::string base64url_encode(std::string_view bytes);

/// Decodes unpadded base64url strictly: std::nullopt on `=`, characters outside the alphabet,
/// an impossible length, or non-zero unused bits (so each byte string has one encoding only).
std::optional<std::string> base64url_decode(std::string_view text);

/// Returns the 32-byte SHA-256 digest of `data`.
std::string sha256(std::string_view data);

/// Returns the SHA-256 digest of `data` as 64 lowercase hex characters.
std::string sha256_hex(std::string_view data);

/// Returns the 32-byte HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);

/// Compares two byte strings in time independent of their contents (only of their lengths);
/// lengths are not treated as secret.
bool constant_time_equals(std::string_view a, std::string_view b) noexcept;

}  // namespace loyalty::crypto
