#include <loyalty/core/utf8.hpp>

#include <catch2/catch.hpp>

using loyalty::utf8::storable;
using loyalty::utf8::valid;

namespace {
const std::string kFFFD = "\xEF\xBF\xBD";
}

TEST_CASE(
    "utf8: well-formed text is valid, and overlongs, surrogates, past U+10FFFF and cut "
    "sequences are not",
    "[unit]") {
  CHECK(valid(""));
  CHECK(valid("Mbare \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  CHECK_FALSE(valid("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(valid("\xED\xA0\x80"));      // a surrogate
  CHECK_FALSE(valid("\xF4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(valid("\xE2\x82"));          // cut short
  CHECK_FALSE(valid("\xFF"));
}

TEST_CASE("utf8: storable replaces each bad byte and NUL, and never cuts a character", "[unit]") {
  CHECK(storable("plain", 100) == "plain");
  CHECK(storable(std::string("a\0b", 3), 100) == "a" + kFFFD + "b");
  CHECK(storable("\xFF\xE2\x82", 100) == kFFFD + kFFFD + kFFFD);
  CHECK(storable("ab\xC3\xA9", 3) == "ab");  // é would end at byte 4
  CHECK(storable("ab\xC3\xA9", 4) == "ab\xC3\xA9");
  CHECK(storable("\xFF"
                 "abc",
                 2) == "");  // U+FFFD alone is 3 bytes
  CHECK(valid(storable("\xF0\x9F\x98\x80\xF0\x9F", 100)));
}
