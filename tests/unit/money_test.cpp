#include <loyalty/core/error.hpp>
#include <loyalty/core/money.hpp>

#include <catch2/catch.hpp>

#include <string>

using loyalty::kMaxAmount;
using loyalty::parse_amount;

namespace {

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
