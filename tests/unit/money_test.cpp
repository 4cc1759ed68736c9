#include <loyalty/core/error.hpp>
#include <loyalty/core/money.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>

using loyalty::checked_add;
using loyalty::checked_mul;
using loyalty::checked_sub;
using loyalty::kMaxAmount;
using loyalty::kMaxPoints;
using loyalty::parse_amount;
using loyalty::pro_rata;

namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

/// The type of the Error a call throws, or "" when it throws none.
template <typename Fn>
std::string error_type(Fn&& fn) {
  try {
    fn();
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::invalid);
    return e.type();
  }
  return "";
}

}  // namespace

TEST_CASE("money: amounts parse up to the ceiling of 10^12 minor units and no further", "[unit]") {
  CHECK(kMaxAmount == 1'000'000'000'000);
  CHECK(parse_amount("10000000000.00") == kMaxAmount);
  CHECK(parse_amount("10000000000") == kMaxAmount);
  CHECK(parse_amount("-10000000000.00") == -kMaxAmount);
  CHECK(parse_amount("9999999999.99") == kMaxAmount - 1);
  CHECK(parse_amount("0000000000000000000000000012.50") == 1250);

  CHECK(error_type([] { parse_amount("10000000000.01"); }) == "amount-too-large");
  CHECK(error_type([] { parse_amount("10000000001"); }) == "amount-too-large");
  CHECK(error_type([] { parse_amount("-10000000000.01"); }) == "amount-too-large");
  // Past 64 bits, where the old parser would have multiplied on.
  CHECK(error_type([] { parse_amount("92233720368547758.08"); }) == "amount-too-large");
  CHECK(error_type([] { parse_amount("999999999999999999999999999999"); }) == "amount-too-large");
  // Text that is not an amount stays a syntax error, however long its digits run.
  CHECK(error_type([] { parse_amount("99999999999999999999x"); }) == "validation-failed");
  CHECK(error_type([] { parse_amount("1e12"); }) == "validation-failed");
  CHECK(error_type([] { parse_amount("10000000000.001"); }) == "validation-failed");
  CHECK(error_type([] { parse_amount(std::string(65, '1')); }) == "validation-failed");
}

TEST_CASE("money: checked sums and products are exact or refused, never wrapped", "[unit]") {
  CHECK(checked_add(kMaxAmount, kMaxAmount) == 2 * kMaxAmount);
  CHECK(checked_add(kMax - 1, 1) == kMax);
  CHECK(checked_add(kMin, kMax) == -1);
  CHECK(error_type([] { checked_add(kMax, 1); }) == "amount-out-of-range");
  CHECK(error_type([] { checked_add(kMin, -1); }) == "amount-out-of-range");

  CHECK(checked_sub(0, kMax) == kMin + 1);
  CHECK(checked_sub(kMaxAmount, kMaxAmount) == 0);
  CHECK(error_type([] { checked_sub(kMin, 1); }) == "amount-out-of-range");
  CHECK(error_type([] { checked_sub(0, kMin); }) == "amount-out-of-range");

  CHECK(checked_mul(kMaxAmount, 9'223'372) == 9'223'372'000'000'000'000);
  CHECK(error_type([] { checked_mul(kMaxAmount, 9'223'373); }) == "amount-out-of-range");
  CHECK(error_type([] { checked_mul(kMaxPoints, kMaxAmount); }) == "amount-out-of-range");
  CHECK(error_type([] { checked_mul(-1, kMin); }) == "amount-out-of-range");
  CHECK(checked_mul(-1, kMax) == kMin + 1);

  // The field pointer travels with the error.
  try {
    checked_add(kMax, kMax, "/amount");
    FAIL("no error");
  } catch (const loyalty::Error& e) {
    REQUIRE(e.fields().size() == 1);
    CHECK(e.fields()[0].pointer == "/amount");
  }
}

TEST_CASE("money: a pro-rata share is exact and rounded down, even past 64-bit products",
          "[unit]") {
  CHECK(pro_rata(10, 1, 3) == 3);  // 3.33 → 3
  CHECK(pro_rata(10, 2, 3) == 6);  // 6.67 → 6: rounded down, never up
  CHECK(pro_rata(100, 2500, 5000) == 50);
  CHECK(pro_rata(7, 0, 5000) == 0);
  CHECK(pro_rata(7, 5000, 5000) == 7);  // the whole amount: every point
  CHECK(pro_rata(0, 1, 2) == 0);
  CHECK(pro_rata(1, 1, kMaxAmount) == 0);
  CHECK(pro_rata(1, kMaxAmount - 1, kMaxAmount) == 0);
  // kMaxPoints × kMaxAmount is 10^21, past 64 bits: the old `points * amount / original`
  // would have wrapped to a meaningless (even negative) share.
  CHECK(pro_rata(kMaxPoints, kMaxAmount - 1, kMaxAmount) == kMaxPoints - 1);
  CHECK(pro_rata(kMaxPoints, kMaxAmount / 2, kMaxAmount) == kMaxPoints / 2);
  CHECK(pro_rata(kMax, kMax - 1, kMax) == kMax - 1);
  CHECK(pro_rata(kMax, kMax, kMax) == kMax);
  CHECK(pro_rata(kMax, 1, 2) == kMax / 2);

  CHECK(error_type([] { pro_rata(10, 4, 3); }) == "validation-failed");   // part > whole
  CHECK(error_type([] { pro_rata(10, 1, 0); }) == "validation-failed");   // no whole
  CHECK(error_type([] { pro_rata(10, -1, 3); }) == "validation-failed");  // negative part
  CHECK(error_type([] { pro_rata(-10, 1, 3); }) == "validation-failed");  // negative value
}
