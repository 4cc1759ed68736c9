#include <catch2/catch.hpp>
#include <loyalty/core/uuid.hpp>

TEST_CASE("uuid: only the canonical 8-4-4-4-12 hexadecimal form is an id", "[unit]") {
  CHECK(loyalty::is_uuid("2e8d1fb4-5609-4fc7-9542-4cbc999ac290"));
  CHECK(loyalty::is_uuid("2E8D1FB4-5609-4FC7-9542-4CBC999AC290"));
  CHECK_FALSE(loyalty::is_uuid(""));
  CHECK_FALSE(loyalty::is_uuid("demo"));
  CHECK_FALSE(loyalty::is_uuid("2e8d1fb456094fc795424cbc999ac290"));       // no dashes
  CHECK_FALSE(loyalty::is_uuid("2e8d1fb4-5609-4fc7-9542-4cbc999ac29"));    // short
  CHECK_FALSE(loyalty::is_uuid("2e8d1fb4-5609-4fc7-9542-4cbc999ac290 "));  // trailing space
  CHECK_FALSE(loyalty::is_uuid("2e8d1fb4-5609-4fc7-9542-4cbc999ac29g"));   // not hex
  CHECK_FALSE(loyalty::is_uuid("2e8d1fb4-5609-4fc7-95424-cbc999ac290"));   // dash misplaced
  CHECK_FALSE(loyalty::is_uuid("{2e8d1fb4-5609-4fc7-9542-4cbc999ac29}"));
}
