#include <loyalty/core/error.hpp>
#include <loyalty/core/phone.hpp>

#include <catch2/catch.hpp>

#include <string>

using loyalty::normalize_phone;
using loyalty::try_normalize_phone;

TEST_CASE("phone: Zimbabwean numbers in every usual form normalise to E.164", "[unit]") {
  const char* forms[] = {
      "0771 234 567",   "0771234567",           "+263 77 123 4567",     "+263771234567",
      "263771234567",   "00263771234567",       "+263-77-123-4567",     "(0771) 234-567",
      " 0771 234 567 ", "+263 (0) 771 234 567", "tel:+263-77-123-4567",
  };
  for (const char* form : forms) {
    INFO(form);
    CHECK(try_normalize_phone(form) == "+263771234567");
  }
}

TEST_CASE("phone: numbers of each Zimbabwean mobile network are accepted", "[unit]") {
  CHECK(try_normalize_phone("0712 345 678") == "+263712345678");  // NetOne
  CHECK(try_normalize_phone("0733 123 456") == "+263733123456");  // Telecel
  CHECK(try_normalize_phone("0783 123 456") == "+263783123456");  // Econet
}

TEST_CASE("phone: numbers of other countries need their country code", "[unit]") {
  CHECK(try_normalize_phone("+27 82 123 4567") == "+27821234567");
  CHECK(try_normalize_phone("082 123 4567", "ZA") == "+27821234567");
  CHECK(try_normalize_phone("082 123 4567", "za") == "+27821234567");
  CHECK(try_normalize_phone("+44 7911 123456") == "+447911123456");
}

TEST_CASE("phone: invalid numbers are refused", "[unit]") {
  const std::string inputs[] = {
      "",
      "   ",
      "abc",
      "12345",
      "0771 234 56",         // too short
      "0771 234 5678",       // too long
      "+263 000 000 000",    // unallocated
      "+999 771 234 567",    // no such country code
      "0771234567 ext. 12",  // an extension has no place in E.164
      "+263771234567" + std::string(60, ' '),
      std::string(65, '7'),
      std::string("0771\0"
                  "234567",
                  11),
  };
  for (const auto& input : inputs) {
    INFO(input);
    CHECK_FALSE(try_normalize_phone(input).has_value());
  }
  CHECK_FALSE(try_normalize_phone("0771 234 567", "XX").has_value());
}

TEST_CASE("phone: the throwing form names the field and does not echo the number", "[unit]") {
  CHECK(normalize_phone("0771 234 567", "/phone") == "+263771234567");
  try {
    normalize_phone("0771 99", "/customers/0/phone");
    FAIL("an invalid number was accepted");
  } catch (const loyalty::Error& error) {
    CHECK(error.code() == loyalty::ErrorCode::invalid);
    REQUIRE(error.fields().size() == 1);
    CHECK(error.fields()[0].pointer == "/customers/0/phone");
    CHECK_FALSE(error.fields()[0].message.empty());
    CHECK(std::string(error.what()).find("0771 99") == std::string::npos);
    CHECK(error.fields()[0].message.find("0771 99") == std::string::npos);
  }
}
