#include "support/compress.hpp"

#include <catch2/catch.hpp>
#include <loyalty/core/compression.hpp>
#include <loyalty/core/error.hpp>

#include <fstream>

using loyalty::ContentCoding;
using loyalty::decode_bounded;

using loyalty::test::deflate_with;

TEST_CASE("compression: Content-Encoding names the codings the daemon decodes", "[unit]") {
  CHECK(loyalty::parse_content_coding("") == ContentCoding::identity);
  CHECK(loyalty::parse_content_coding(" GZip ") == ContentCoding::gzip);
  CHECK(loyalty::parse_content_coding("deflate") == ContentCoding::deflate);
  CHECK(loyalty::parse_content_coding("br") == ContentCoding::br);
  CHECK_FALSE(loyalty::parse_content_coding("compress"));
  CHECK_FALSE(loyalty::parse_content_coding("gzip, br"));
}

TEST_CASE("compression: gzip, zlib and raw deflate decode to the original bytes", "[unit]") {
  std::string text(100000, 'x');
  for (std::size_t i = 0; i < text.size(); i += 7) text[i] = static_cast<char>('a' + i % 26);
  CHECK(decode_bounded(ContentCoding::gzip, deflate_with(text, 31), 1 << 20) == text);
  CHECK(decode_bounded(ContentCoding::deflate, deflate_with(text, 15), 1 << 20) == text);
  CHECK(decode_bounded(ContentCoding::deflate, deflate_with(text, -15), 1 << 20) == text);
  CHECK(decode_bounded(ContentCoding::identity, text, text.size()) == text);
}

TEST_CASE("compression: decoding stops at the limit, to the byte", "[unit]") {
  std::string text(5000, 'z');
  auto packed = deflate_with(text, 31);
  CHECK(decode_bounded(ContentCoding::gzip, packed, 5000) == text);
  CHECK_FALSE(decode_bounded(ContentCoding::gzip, packed, 4999));
  CHECK_FALSE(decode_bounded(ContentCoding::identity, text, 4999));

  std::ifstream in(std::string(LOYALTY_SOURCE_DIR) + "/tests/data/bombs/zeros-1gib.br",
                   std::ios::binary);
  std::string bomb(std::istreambuf_iterator<char>(in), {});
  REQUIRE(bomb.size() == 809);
  CHECK_FALSE(decode_bounded(ContentCoding::br, bomb, 1 << 20));
}

TEST_CASE("compression: truncated, corrupt or trailing data is a malformed request", "[unit]") {
  auto packed = deflate_with(std::string(3000, 'q'), 31);
  CHECK_THROWS_AS(decode_bounded(ContentCoding::gzip, packed.substr(0, packed.size() - 5), 1 << 20),
                  loyalty::Error);
  CHECK_THROWS_AS(decode_bounded(ContentCoding::gzip, packed + "junk", 1 << 20), loyalty::Error);
  CHECK_THROWS_AS(decode_bounded(ContentCoding::gzip, "not gzip at all", 1 << 20), loyalty::Error);
  CHECK_THROWS_AS(decode_bounded(ContentCoding::br, "\xff\xff\xff\xff", 1 << 20), loyalty::Error);
  CHECK_THROWS_AS(decode_bounded(ContentCoding::deflate, "\x01\x02\x03", 1 << 20), loyalty::Error);
}
