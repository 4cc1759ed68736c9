// JsonLogic semantics: the published shared test suite in full, and the corners of
// json-logic-js (JavaScript coercions) that the suite does not reach.
#include <catch2/catch.hpp>

#include <loyalty/core/error.hpp>
#include <loyalty/rules/engine.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using nlohmann::json;
namespace rules = loyalty::rules;

namespace {

json eval(const char* logic, const char* data = "null") {
  return rules::apply(json::parse(logic), json::parse(data));
}

std::vector<loyalty::FieldError> errors_of(const char* logic) {
  try {
    rules::compile(json::parse(logic));
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::invalid);
    return e.fields();
  }
  return {};
}

}  // namespace

TEST_CASE("rules: the published JsonLogic test suite passes in full", "[unit]") {
  std::ifstream file(LOYALTY_SOURCE_DIR "/tests/data/jsonlogic/tests.json");
  REQUIRE(file);
  std::stringstream text;
  text << file.rdbuf();
  json suite = json::parse(text.str());
  std::size_t cases = 0;
  std::vector<std::string> failures;
  for (const auto& test : suite) {
    if (test.is_string()) continue;  // section comments
    ++cases;
    const json& logic = test.at(0);
    const json& data = test.at(1);
    const json& expected = test.at(2);
    std::string got;
    try {
      json result = rules::apply(logic, data);
      if (result == expected) continue;
      got = result.dump();
    } catch (const std::exception& e) {
      got = std::string("exception: ") + e.what();
    }
    failures.push_back(logic.dump() + " on " + data.dump() + " gave " + got + ", expected " +
                       expected.dump());
  }
  CHECK(cases == 277);
  for (const auto& failure : failures) UNSCOPED_INFO(failure);
  CHECK(failures.empty());
}

TEST_CASE("rules: truthiness follows JsonLogic (\"0\" is truthy, [] is falsy)", "[unit]") {
  CHECK(eval(R"({"!!": ["0"]})") == true);
  CHECK(eval(R"({"!!": [[]]})") == false);
  CHECK(eval(R"({"!!": [[0]]})") == true);
  CHECK(eval(R"({"!!": [{}]})") == true);
  CHECK(eval(R"({"!!": [""]})") == false);
  CHECK(eval(R"({"!!": [0]})") == false);
  CHECK(eval(R"({"!!": [{"/": [0, 0]}]})") == false);  // NaN
  CHECK(eval(R"({"!!": [null]})") == false);
  CHECK(eval(R"({"!": {"var": "missing"}})") == true);
}

TEST_CASE("rules: == coerces types like JavaScript and === does not", "[unit]") {
  CHECK(eval(R"({"==": [1, "1"]})") == true);
  CHECK(eval(R"({"==": [0, ""]})") == true);
  CHECK(eval(R"({"==": [0, false]})") == true);
  CHECK(eval(R"({"==": ["1", true]})") == true);
  CHECK(eval(R"({"==": [null, 0]})") == false);
  CHECK(eval(R"({"==": [null, {"var": "absent"}]})") == true);
  CHECK(eval(R"({"==": [[1], 1]})") == true);
  CHECK(eval(R"({"==": [[1, 2], "1,2"]})") == true);
  CHECK(eval(R"({"==": [[], false]})") == true);
  CHECK(eval(R"({"==": [{"/": [0, 0]}, {"/": [0, 0]}]})") == false);  // NaN
  CHECK(eval(R"({"===": [1, "1"]})") == false);
  CHECK(eval(R"({"===": [null, null]})") == true);
  CHECK(eval(R"({"!==": [1, 1.0]})") == false);
  // Arrays compare by identity, as objects do in JavaScript.
  CHECK(eval(R"({"===": [{"var": "a"}, {"var": "a"}]})", R"({"a": [1]})") == true);
  CHECK(eval(R"({"===": [[1], [1]]})") == false);
}

TEST_CASE("rules: < and > compare strings as strings and mixed values as numbers", "[unit]") {
  CHECK(eval(R"({"<": ["10", "9"]})") == true);
  CHECK(eval(R"({"<": ["10", 9]})") == false);
  CHECK(eval(R"({">": ["abd", "abc"]})") == true);
  CHECK(eval(R"({"<": [null, 1]})") == true);
  CHECK(eval(R"({">=": ["x", 1]})") == false);  // NaN compares false both ways
  CHECK(eval(R"({"<=": ["x", 1]})") == false);
}

TEST_CASE("rules: three-argument < and <= test a value between two bounds", "[unit]") {
  CHECK(eval(R"({"<": [1, {"var": "x"}, 10]})", R"({"x": 5})") == true);
  CHECK(eval(R"({"<": [1, {"var": "x"}, 10]})", R"({"x": 10})") == false);
  CHECK(eval(R"({"<=": [1, {"var": "x"}, 10]})", R"({"x": 10})") == true);
  CHECK(eval(R"({"<=": [1, {"var": "x"}, 10]})", R"({"x": 1})") == true);
  CHECK(eval(R"({"<=": [1, {"var": "x"}, 10]})", R"({"x": 11})") == false);
}

TEST_CASE("rules: var reads dot paths, array indexes and defaults", "[unit]") {
  const char* data = R"({"event": {"amount": 72.5, "items": [{"sku": "A"}, {"sku": "B"}],
                          "note": null}, "tags": ["x", "y"]})";
  CHECK(eval(R"({"var": "event.amount"})", data) == 72.5);
  CHECK(eval(R"({"var": "event.items.1.sku"})", data) == "B");
  CHECK(eval(R"({"var": "tags.0"})", data) == "x");
  CHECK(eval(R"({"var": 1})", R"(["a", "b"])") == "b");
  CHECK(eval(R"({"var": "tags.2"})", data) == nullptr);
  CHECK(eval(R"({"var": ["event.missing", 7]})", data) == 7);
  CHECK(eval(R"({"var": ["event.items.5.sku", "none"]})", data) == "none");
  // A present null is returned, not the default (json-logic-js checks for undefined).
  CHECK(eval(R"({"var": ["event.note", 7]})", data) == nullptr);
  CHECK(eval(R"({"var": ["event.note.deeper", 7]})", data) == 7);
  CHECK(eval(R"({"var": "tags.length"})", data) == 2);
  CHECK(eval(R"({"var": "tags.01"})", data) == nullptr);  // not a canonical index
}

TEST_CASE("rules: var with \"\", null or no path returns the whole data", "[unit]") {
  CHECK(eval(R"({"var": ""})", "5") == 5);
  CHECK(eval(R"({"var": null})", R"({"a": 1})") == json::parse(R"({"a": 1})"));
  CHECK(eval(R"({"var": []})", "[1, 2]") == json::parse("[1, 2]"));
  CHECK(eval(R"({"var": ""})", "null") == nullptr);
}

TEST_CASE("rules: var paths may be computed", "[unit]") {
  CHECK(eval(R"({"var": {"cat": ["event.", "amount"]}})", R"({"event": {"amount": 3}})") == 3);
  CHECK(eval(R"({"var": [{"if": [false, "a", ""]}]})", R"({"a": 1})") ==
        json::parse(R"({"a": 1})"));
}

TEST_CASE("rules: missing and missing_some return arrays of the absent keys", "[unit]") {
  CHECK(eval(R"({"missing": ["a", "b", "c.d"]})", R"({"a": 1, "c": {"d": ""}})") ==
        json::parse(R"(["b", "c.d"])"));
  CHECK(eval(R"({"missing": [["a", "b"], "c"]})", R"({})") == json::parse(R"(["a", "b"])"));
  CHECK(eval(R"({"missing_some": [1, ["a", "b"]]})", R"({"b": 0})") == json::array());
  CHECK(eval(R"({"missing_some": [2, ["a", "b", "c"]]})", R"({"b": 0})") ==
        json::parse(R"(["a", "c"])"));
}

TEST_CASE("rules: if takes any number of condition/result pairs", "[unit]") {
  const char* logic = R"({"if": [{"<": [{"var": "t"}, 0]}, "freezing",
                                 {"<": [{"var": "t"}, 20]}, "cold",
                                 {"<": [{"var": "t"}, 30]}, "warm", "hot"]})";
  CHECK(eval(logic, R"({"t": -3})") == "freezing");
  CHECK(eval(logic, R"({"t": 10})") == "cold");
  CHECK(eval(logic, R"({"t": 25})") == "warm");
  CHECK(eval(logic, R"({"t": 35})") == "hot");
  CHECK(eval(R"({"?:": [true, 1, 2]})") == 1);
  CHECK(eval(R"({"if": [false, 1, false, 2]})") == nullptr);
}

TEST_CASE("rules: and/or return an operand, not a boolean", "[unit]") {
  CHECK(eval(R"({"or": [0, "", "x", "y"]})") == "x");
  CHECK(eval(R"({"or": [0, ""]})") == "");
  CHECK(eval(R"({"and": [1, "a", [1]]})") == json::parse("[1]"));
  CHECK(eval(R"({"and": [1, 0, "never"]})") == 0);
  CHECK(eval(R"({"and": []})") == nullptr);
}

TEST_CASE("rules: + and * take many arguments and cast strings with parseFloat", "[unit]") {
  CHECK(eval(R"({"+": [1, 2, 3, 4]})") == 10);
  CHECK(eval(R"({"+": ["3.5", "1.5"]})") == 5);
  CHECK(eval(R"({"+": "12abc"})") == 12);
  CHECK(eval(R"({"+": " 7 "})") == 7);
  CHECK(eval(R"({"+": []})") == 0);
  CHECK(eval(R"({"+": ["abc"]})") == nullptr);  // NaN prints as null, as in JSON.stringify
  CHECK(eval(R"({"*": [2, "3", 4]})") == 24);
  CHECK(eval(R"({"*": [0.1, 3]})") == 0.30000000000000004);
  CHECK(eval(R"({"+": [0.1, 0.2]})") == 0.30000000000000004);
}

TEST_CASE("rules: - is unary with one argument, and / and % follow JavaScript", "[unit]") {
  CHECK(eval(R"({"-": 5})") == -5);
  CHECK(eval(R"({"-": ["5"]})") == -5);
  CHECK(eval(R"({"-": [10, "4"]})") == 6);
  CHECK(eval(R"({"-": ["0x10", 0]})") == 16);  // Number() reads hex
  CHECK(eval(R"({"/": [7, 2]})") == 3.5);
  CHECK(eval(R"({"/": [1, 0]})") == nullptr);  // Infinity
  CHECK(eval(R"({"%": [-7, 3]})") == -1);
  CHECK(eval(R"({"%": [7.5, 2]})") == 1.5);
}

TEST_CASE("rules: min and max compare numbers and give null on a non-number", "[unit]") {
  CHECK(eval(R"({"max": [1, "7", 3]})") == 7);
  CHECK(eval(R"({"min": [4, -2.5, 3]})") == -2.5);
  CHECK(eval(R"({"max": [1, "x"]})") == nullptr);
  CHECK(eval(R"({"min": []})") == nullptr);  // Infinity
}

TEST_CASE("rules: map, filter and reduce see elements, current and accumulator", "[unit]") {
  const char* data = R"({"items": [{"sku": "A", "qty": 2, "price": 5},
                                   {"sku": "B", "qty": 1, "price": 20},
                                   {"sku": "C", "qty": 4, "price": 1.25}]})";
  CHECK(eval(R"({"map": [{"var": "items"}, {"var": "sku"}]})", data) ==
        json::parse(R"(["A", "B", "C"])"));
  CHECK(eval(R"({"filter": [{"var": "items"}, {">": [{"var": "qty"}, 1]}]})", data).size() == 2);
  CHECK(eval(R"({"reduce": [{"var": "items"},
                 {"+": [{"var": "accumulator"}, {"*": [{"var": "current.qty"}, {"var": "current.price"}]}]},
                 0]})",
             data) == 35);
  CHECK(eval(R"({"reduce": [{"var": "items"}, {"var": "current.sku"}]})", data) == "C");
  CHECK(eval(R"({"reduce": [{"var": "nothing"}, {"var": "current"}, 5]})", data) == 5);
  CHECK(eval(R"({"map": [{"var": "nothing"}, 1]})", data) == json::array());
  // The array argument is read in the outer scope, the logic in the element's scope.
  CHECK(eval(R"({"map": [{"var": "a"}, {"map": [{"var": ""}, {"*": [{"var": ""}, 10]}]}]})",
             R"({"a": [[1, 2], [3]]})") == json::parse("[[10, 20], [30]]"));
}

TEST_CASE("rules: all of an empty array is false, and none and some are its complements",
          "[unit]") {
  CHECK(eval(R"({"all": [[], true]})") == false);
  CHECK(eval(R"({"all": [[1, 2], {">": [{"var": ""}, 0]}]})") == true);
  CHECK(eval(R"({"all": ["not an array", true]})") == false);
  CHECK(eval(R"({"some": [[], true]})") == false);
  CHECK(eval(R"({"some": [[0, 0, 3], {"var": ""}]})") == true);
  CHECK(eval(R"({"none": [[], true]})") == true);
  CHECK(eval(R"({"none": [[0, ""], {"var": ""}]})") == true);
}

TEST_CASE("rules: merge flattens one level and wraps single values", "[unit]") {
  CHECK(eval(R"({"merge": [[1, [2]], 3, [], [[4]]]})") == json::parse("[1, [2], 3, [4]]"));
  CHECK(eval(R"({"merge": [{"var": "a"}, {"var": "b"}]})", R"({"a": [1], "b": null})") ==
        json::parse("[1, null]"));
}

TEST_CASE("rules: in finds substrings of strings and elements of arrays", "[unit]") {
  CHECK(eval(R"({"in": ["Spring", "Springfield"]})") == true);
  CHECK(eval(R"({"in": [1, "a1"]})") == true);       // String(1)
  CHECK(eval(R"({"in": [1, ["1", 2]]})") == false);  // arrays compare with ===
  CHECK(eval(R"({"in": [2, ["1", 2]]})") == true);
  CHECK(eval(R"({"in": ["a", null]})") == false);
  CHECK(eval(R"({"in": ["a", {"var": "x"}]})", R"({"x": {"a": 1}})") == false);
  CHECK(eval(R"({"in": ["", ""]})") == false);  // an empty haystack is falsy
}

TEST_CASE("rules: cat writes numbers as JavaScript does and skips null", "[unit]") {
  CHECK(eval(R"({"cat": [0.1, "|", 1e21, "|", 1e-7, "|", 100, "|", 2.50, "|", -0.0]})") ==
        "0.1|1e+21|1e-7|100|2.5|0");
  CHECK(eval(R"({"cat": ["a", null, "b", true, [1, [2, null]]]})") == "abtrue1,2,");
  CHECK(eval(R"({"cat": [123456789012345680000]})") == "123456789012345680000");
  CHECK(eval(R"({"cat": [0.000001, " ", 1.5e-10]})") == "0.000001 1.5e-10");
  CHECK(eval(R"({"cat": {"var": "o"}})", R"({"o": {"k": 1}})") == "[object Object]");
}

TEST_CASE("rules: substr counts characters and takes negative start and length", "[unit]") {
  CHECK(eval(R"({"substr": ["jsonlogic", -5, -2]})") == "log");
  CHECK(eval(R"({"substr": ["jsonlogic", 20]})") == "");
  CHECK(eval(R"({"substr": ["jsonlogic", -20, 4]})") == "json");
  CHECK(eval(R"({"substr": ["jsonlogic", 4, -20]})") == "");
  CHECK(eval(R"({"substr": [12345, 1, 2]})") == "23");
  CHECK(eval(R"({"substr": ["Harare ☀ sun", 7, 1]})") == "☀");
}

TEST_CASE("rules: log returns its argument and hands it to the log sink", "[unit]") {
  std::vector<json> logged;
  json result = rules::apply(json::parse(R"({"log": {"+": [1, 2]}})"), json(nullptr), nullptr,
                             [&](const json& v) { logged.push_back(v); });
  CHECK(result == 3);
  REQUIRE(logged.size() == 1);
  CHECK(logged[0] == 3);
}

TEST_CASE("rules: non-rules pass through and arrays of logic are evaluated", "[unit]") {
  CHECK(eval(R"({"a": 1, "b": {"var": "x"}})") == json::parse(R"({"a": 1, "b": {"var": "x"}})"));
  CHECK(eval("{}") == json::object());
  CHECK(eval(R"([1, {"var": "x"}, [{"var": "y"}]])", R"({"x": 2, "y": 3})") ==
        json::parse("[1, 2, [3]]"));
}

TEST_CASE("rules: an unknown operator is an error at compile time, with its pointer", "[unit]") {
  auto errors = errors_of(R"({"and": [true, {"fubar": [1]}]})");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].pointer == "/and/1/fubar");
  CHECK(errors[0].message == "unknown operator \"fubar\"");
  CHECK_THROWS_AS(eval(R"({"method": ["x", "toUpperCase"]})"), loyalty::Error);
}

TEST_CASE("rules: compile reports every problem at once, naming the operator", "[unit]") {
  auto errors = errors_of(R"({"and": [{">=": [{"var": "event.amount"}]},
                                      {"or": [{"nope": 1}, {"/": [1, {"bad/op~": 2}]}]},
                                      {"map": [[1]]}]})");
  REQUIRE(errors.size() == 4);
  CHECK(errors[0].pointer == "/and/0/>=");
  CHECK(errors[0].message == R"(">=" takes 2 arguments: {">=": [A, B]})");
  CHECK(errors[1].pointer == "/and/1/or/0/nope");
  CHECK(errors[2].pointer == "/and/1/or/1/~1/1/bad~1op~0");
  CHECK(errors[3].pointer == "/and/2/map");
  CHECK(errors[3].message.find("\"map\" takes 2 arguments") == 0);
}

TEST_CASE("rules: check_logic prefixes pointers and never throws", "[unit]") {
  auto errors = rules::check_logic(json::parse(R"({"!": {"x": 1}})"), "/rules/3/conditions");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].pointer == "/rules/3/conditions/!/x");
  CHECK(rules::check_logic(json::parse(R"({"var": "a"})")).empty());
}
