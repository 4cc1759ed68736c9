// Hostile input: deep, huge or explosive rules and data get clear errors or a stopped
// evaluation, never a crash, a stack overflow or an unbounded loop.
#include <catch2/catch.hpp>

#include <loyalty/core/error.hpp>
#include <loyalty/rules/definition.hpp>
#include <loyalty/rules/engine.hpp>

#include <string>

using nlohmann::json;
namespace rules = loyalty::rules;

namespace {

std::vector<loyalty::FieldError> invalid_fields(const std::function<void()>& action) {
  try {
    action();
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::invalid);
    return e.fields();
  }
  FAIL("no loyalty::Error was thrown");
  return {};
}

std::string invalid_message(const std::function<void()>& action) {
  try {
    action();
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::invalid);
    return e.what();
  }
  FAIL("no loyalty::Error was thrown");
  return {};
}

// A JSON value nested `depth` arrays deep, built without recursion.
json nested_arrays(int depth) {
  json root = json::array();
  json* current = &root;
  for (int i = 1; i < depth; ++i) {
    current->push_back(json::array());
    current = &current->back();
  }
  return root;
}

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

TEST_CASE("rules: 100000 nested brackets are refused before parsing, without a crash", "[unit]") {
  std::string text = repeat("[", 100'000) + repeat("]", 100'000);
  CHECK(invalid_message([&] { rules::parse_document(text, rules::Limits::for_rules()); }) ==
        "invalid JSON: nested deeper than 64 levels (at byte 64)");
  std::string objects = repeat(R"({"a":)", 100'000) + "1" + repeat("}", 100'000);
  CHECK_THROWS_AS(rules::parse_document(objects, rules::Limits::for_data()), loyalty::Error);
}

TEST_CASE("rules: brackets inside strings do not count as nesting", "[unit]") {
  std::string text = R"({"cat": [")" + repeat("[{", 500) + R"(\"", "x"]})";
  json logic = rules::parse_document(text, rules::Limits::for_rules());
  CHECK(rules::apply(logic, nullptr).get<std::string>().size() == 1002);
}

TEST_CASE("rules: malformed JSON text is an invalid error with the position", "[unit]") {
  CHECK(invalid_message([] {
          rules::parse_document(R"({"and": [true,]})", {});
        }).starts_with("invalid JSON: parse error at line 1, column 15"));
  CHECK_THROWS_AS(rules::parse_document(std::string(2 << 20, ' '), rules::Limits::for_rules()),
                  loyalty::Error);
  CHECK(invalid_message([] {
          rules::parse_document("1" + std::string(400, '0'), {});
        }).starts_with("invalid JSON: number overflow"));
}

TEST_CASE("rules: a 100000-deep JSON value is refused by compile and prepare", "[unit]") {
  json deep = nested_arrays(100'000);
  auto fields = invalid_fields([&] { rules::compile(deep); });
  REQUIRE(fields.size() == 1);
  CHECK(fields[0].message == "nested deeper than 64 levels");
  CHECK(fields[0].pointer == "/" + repeat("0/", 63) + "0");
  auto data_fields = invalid_fields([&] { rules::prepare(deep, nullptr); });
  REQUIRE(data_fields.size() == 1);
  CHECK(data_fields[0].message == "nested deeper than 32 levels");
  json rule = {{"name", "deep"}, {"event_type", "x"}, {"reward", "r"}};
  rule["conditions"] = std::move(deep);  // a copy would recurse 100000 deep inside nlohmann
  auto check = rules::check_definitions(rule);
  REQUIRE(check.errors.size() == 1);
  CHECK(check.errors[0].pointer.rfind("/conditions/0/0/", 0) == 0);
}

TEST_CASE("rules: rules may nest exactly up to the depth limit", "[unit]") {
  CHECK_NOTHROW(rules::compile(nested_arrays(64)));
  CHECK_THROWS_AS(rules::compile(nested_arrays(65)), loyalty::Error);
  json nots = true;
  for (int i = 0; i < 64; ++i) nots = json{{"!", std::move(nots)}};
  CHECK(rules::apply(nots, nullptr) == true);
  nots = json{{"!", std::move(nots)}};
  CHECK_THROWS_AS(rules::compile(nots), loyalty::Error);
}

TEST_CASE("rules: rules with too many nodes, long strings or long arrays are refused", "[unit]") {
  json wide = json::array();
  for (int i = 0; i < 6000; ++i) wide.push_back(json::array({i}));
  auto fields = invalid_fields([&] { rules::compile(wide); });
  REQUIRE(fields.size() == 1);
  CHECK(fields[0].pointer == "");
  CHECK(fields[0].message == "the rule has more than 10000 values");

  json long_string = {{"==", {{{"var", "a"}}, std::string(5000, 'x')}}};
  fields = invalid_fields([&] { rules::compile(long_string); });
  REQUIRE(fields.size() == 1);
  CHECK(fields[0].pointer == "/==/1");
  CHECK(fields[0].message == "string longer than 4096 bytes");

  json long_array = {{"in", {{{"var", "a"}}, json(std::vector<int>(10'001, 1))}}};
  fields = invalid_fields([&] { rules::compile(long_array); });
  REQUIRE(fields.size() == 1);
  CHECK(fields[0].pointer == "/in/1");
  CHECK(fields[0].message == "array with more than 10000 elements");
}

TEST_CASE("rules: data over the limits is refused with the pointer of the problem", "[unit]") {
  json data = {{"event", {{"items", json(std::vector<int>(10'001, 1))}}}};
  auto fields = invalid_fields([&] { rules::prepare(data, nullptr); });
  REQUIRE(fields.size() == 1);
  CHECK(fields[0].pointer == "/event/items");
  data = {{"event", {{"note", std::string(70'000, 'n')}}}};
  fields = invalid_fields([&] { rules::prepare(data, nullptr); });
  REQUIRE(fields.size() == 1);
  CHECK(fields[0].pointer == "/event/note");
  CHECK(fields[0].message == "string longer than 65536 bytes");
}

TEST_CASE("rules: an evaluation that builds ever larger arrays stops at the memory limit",
          "[unit]") {
  // Each step doubles the accumulator: 2^1000 elements if unbounded.
  auto program = rules::compile(json::parse(R"({"reduce": [{"var": "n"},
      {"merge": [{"var": "accumulator"}, {"var": "accumulator"}]}, [1]]})"));
  json n = json::array();
  for (int i = 0; i < 1000; ++i) n.push_back(i);
  auto data = rules::prepare({{"n", n}}, program.layout());
  rules::Limits limits;
  limits.max_eval_steps = 1'000'000'000;  // so that memory runs out first
  rules::Evaluator evaluator(limits);
  rules::Value result = evaluator.evaluate(program, data);
  CHECK(result.is_null());
  CHECK(evaluator.outcome() == rules::Outcome::too_much_memory);
  rules::Evaluator default_limits;
  CHECK(default_limits.evaluate(program, data).is_null());
  CHECK(default_limits.outcome() == rules::Outcome::too_many_steps);  // copying counts too
  CHECK_THROWS_AS(rules::apply(json::parse(R"({"reduce": [{"var": "n"},
      {"merge": [{"var": "accumulator"}, {"var": "accumulator"}]}, [1]]})"),
                               {{"n", n}}),
                  loyalty::Error);
}

TEST_CASE("rules: nested iteration over large arrays stops at the step limit", "[unit]") {
  auto program = rules::compile(json::parse(
      R"({"all": [{"var": "rows"}, {"all": [{"var": "cells"}, {">=": [{"var": ""}, 0]}]}]})"));
  json rows = json::array();
  for (int i = 0; i < 300; ++i) rows.push_back({{"cells", json(std::vector<int>(300, 1))}});
  auto data = rules::prepare({{"rows", rows}}, program.layout());

  rules::Evaluator evaluator;  // default budget: 1,000,000 steps
  CHECK(rules::to_json(evaluator.evaluate(program, data)) == true);
  CHECK(evaluator.outcome() == rules::Outcome::ok);

  rules::Limits limits;
  limits.max_eval_steps = 10'000;
  rules::Evaluator small(limits);
  rules::Value result = small.evaluate(program, data);
  CHECK(result.is_null());
  CHECK(small.outcome() == rules::Outcome::too_many_steps);
  CHECK(rules::describe(small.outcome(), limits) == "the evaluation took more than 10000 steps");
  // The next evaluation starts with a fresh budget.
  auto cheap = rules::compile(json::parse(R"({"var": "x"})"));
  CHECK(rules::to_json(small.evaluate(cheap, rules::prepare({{"x", 1}}, cheap.layout()))) == 1);
  CHECK(small.outcome() == rules::Outcome::ok);
}

TEST_CASE("rules: loops nested as deep as the limit allows compile and evaluate", "[unit]") {
  json logic = {{"var", ""}};
  for (int i = 0; i < 31; ++i) logic = {{"map", {{{"var", ""}}, std::move(logic)}}};
  auto program = rules::compile(logic);
  json data = json::array();
  for (int i = 0; i < 5; ++i) data = json::array({data, data, data});
  auto prepared = rules::prepare(data, program.layout());
  rules::Evaluator evaluator;
  evaluator.evaluate(program, prepared);
  CHECK(evaluator.outcome() == rules::Outcome::ok);
}

TEST_CASE("rules: values nested ever deeper stop at the value depth limit", "[unit]") {
  auto program = rules::compile(json::parse(
      R"({"reduce": [{"var": "n"}, [{"var": "accumulator"}, {"var": "accumulator"}], 0]})"));
  auto data = rules::prepare({{"n", json(std::vector<int>(1000, 0))}}, program.layout());
  rules::Evaluator evaluator;
  CHECK(evaluator.evaluate(program, data).is_null());
  CHECK(evaluator.outcome() == rules::Outcome::too_deep);
}

TEST_CASE("rules: a result that shares parts is refused when printing would explode", "[unit]") {
  // 30 doublings build a 2^30-leaf tree out of 30 small arrays; converting it must not hang.
  auto program = rules::compile(json::parse(
      R"({"reduce": [{"var": "n"}, [{"var": "accumulator"}, {"var": "accumulator"}], 0]})"));
  auto data = rules::prepare({{"n", json(std::vector<int>(30, 0))}}, program.layout());
  rules::Evaluator evaluator;
  rules::Value result = evaluator.evaluate(program, data);
  REQUIRE(evaluator.outcome() == rules::Outcome::ok);
  CHECK(result.is_array());
  CHECK_THROWS_AS(rules::to_json(result), loyalty::Error);
  // Turning it into a string is bounded by the step budget too.
  auto stringify = rules::compile(json::parse(R"({"cat": [{"reduce": [{"var": "n"},
      [{"var": "accumulator"}, {"var": "accumulator"}], 0]}]})"));
  auto data2 = rules::prepare({{"n", json(std::vector<int>(30, 0))}}, stringify.layout());
  CHECK(evaluator.evaluate(stringify, data2).is_null());
  CHECK(evaluator.outcome() != rules::Outcome::ok);
}
