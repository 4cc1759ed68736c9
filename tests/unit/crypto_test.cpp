#include <loyalty/core/crypto.hpp>
#include <loyalty/core/error.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace loyalty::crypto;

TEST_CASE("crypto: hex encodes lowercase and decodes either case", "[unit]") {
  CHECK(hex_encode(std::string("\x01\xab\xff\x00", 4)) == "01abff00");
  CHECK(hex_encode("") == "");
  CHECK(hex_decode("01ABff00") == std::string("\x01\xab\xff\x00", 4));
  CHECK(hex_decode("") == std::string());
  CHECK_FALSE(hex_decode("abc").has_value());
  CHECK_FALSE(hex_decode("zz").has_value());
  CHECK_FALSE(hex_decode("0x").has_value());
}

TEST_CASE("crypto: base64 matches the RFC 4648 test vectors", "[unit]") {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    CHECK(base64_encode(plain) == encoded);
    CHECK(base64_decode(encoded) == plain);
  }
}

TEST_CASE("crypto: base64 decoding accepts missing padding and refuses garbage", "[unit]") {
  CHECK(base64_decode("Zg") == "f");
  CHECK(base64_decode("Zm8") == "fo");
  CHECK(base64_decode("+/8=") == std::string("\xfb\xff", 2));
  CHECK_FALSE(base64_decode("Z").has_value());
  CHECK_FALSE(base64_decode("Zg=a").has_value());
  CHECK_FALSE(base64_decode("Zg===").has_value());
  CHECK_FALSE(base64_decode("Zm8==").has_value());
  CHECK_FALSE(base64_decode("Zm9v!").has_value());
  CHECK_FALSE(base64_decode("-_8=").has_value());
  CHECK_FALSE(base64_decode("Zm 9v").has_value());
}

TEST_CASE("crypto: base64url is unpadded, url-safe and strict", "[unit]") {
  CHECK(base64url_encode(std::string("\xfb\xff", 2)) == "-_8");
  CHECK(base64url_encode("f") == "Zg");
  CHECK(base64url_decode("-_8") == std::string("\xfb\xff", 2));
  CHECK(base64url_decode("") == std::string());
  CHECK_FALSE(base64url_decode("Zg==").has_value());
  CHECK_FALSE(base64url_decode("+/8").has_value());
  // "Zh" has non-zero unused bits: a second spelling of "f" that must not verify as the first.
  CHECK_FALSE(base64url_decode("Zh").has_value());
  CHECK_FALSE(base64url_decode("Z").has_value());
  const std::string bytes = random_bytes(100);
  CHECK(base64url_decode(base64url_encode(bytes)) == bytes);
}

TEST_CASE("crypto: SHA-256 matches the FIPS 180-2 vectors", "[unit]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256("abc").size() == 32);
}

TEST_CASE("crypto: HMAC-SHA256 matches the RFC 4231 vectors", "[unit]") {
  CHECK(hex_encode(hmac_sha256(std::string(20, '\x0b'), "Hi There")) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  CHECK(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a key longer than the block size is hashed first.
  CHECK(hex_encode(hmac_sha256(std::string(131, '\xaa'),
                               "Test Using Larger Than Block-Size Key - Hash Key First")) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  CHECK(hmac_sha256("", "").size() == 32);
}

TEST_CASE("crypto: constant-time comparison compares contents and lengths", "[unit]") {
  CHECK(constant_time_equals("", ""));
  CHECK(constant_time_equals("abc", "abc"));
  CHECK_FALSE(constant_time_equals("abc", "abd"));
  CHECK_FALSE(constant_time_equals("abc", "abcd"));
  CHECK_FALSE(constant_time_equals("", "a"));
  CHECK(constant_time_equals(std::string("a\0b", 3), std::string("a\0b", 3)));
  CHECK_FALSE(constant_time_equals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST_CASE("crypto: random bytes and strings are fresh and stay in their alphabet", "[unit]") {
  CHECK(random_bytes(0).empty());
  CHECK(random_bytes(32).size() == 32);
  CHECK(random_bytes(32) != random_bytes(32));
  const std::string text = random_string(1000, "ab");
  CHECK(text.size() == 1000);
  CHECK(text.find_first_not_of("ab") == std::string::npos);
  CHECK(text.find('a') != std::string::npos);
  CHECK(text.find('b') != std::string::npos);
  CHECK_THROWS_AS(random_string(5, ""), loyalty::Error);
}
