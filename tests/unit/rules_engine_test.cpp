// The engine's contract with the event pipeline: compile once, prepare an event once for all
// of a tenant's rules, evaluate without allocating, never throw for bad data.
#include <catch2/catch.hpp>

#include <loyalty/core/error.hpp>
#include <loyalty/rules/engine.hpp>

#include <cstdlib>
#include <new>
#include <set>
#include <string>

using nlohmann::json;
namespace rules = loyalty::rules;

// Counts heap allocations made by the current thread (this replaces the global operator new
// for the unit test binary; nothing else in the tests depends on it).
namespace {
thread_local std::size_t allocations = 0;
}

// The replacement pairs malloc with free; GCC cannot see that and warns at every delete.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

const char* kTypicalRule = R"({"and":[{"==":[{"var":"event.type"},"purchase"]},
  {">=":[{"var":"event.amount"},50]},{"in":[{"var":"event.store"},["HRE-01","BYO-02","MUT-03"]]},
  {"or":[{"==":[{"var":"customer.tier"},"gold"]},{">":[{"var":"event.items_count"},3]}]}]})";
const char* kTypicalData = R"({"event":{"type":"purchase","amount":72.5,"store":"BYO-02",
  "items_count":5},"customer":{"tier":"silver"}})";

}  // namespace

TEST_CASE("rules: the issue's typical rule matches its typical event", "[unit]") {
  CHECK(rules::apply(json::parse(kTypicalRule), json::parse(kTypicalData)) == true);
  json small_basket = json::parse(kTypicalData);
  small_basket["event"]["items_count"] = 2;
  CHECK(rules::apply(json::parse(kTypicalRule), small_basket) == false);
  small_basket["customer"]["tier"] = "gold";
  CHECK(rules::apply(json::parse(kTypicalRule), small_basket) == true);
}

TEST_CASE("rules: one prepared event serves every rule of a rule set", "[unit]") {
  rules::RuleSet set;
  set.add(json::parse(kTypicalRule));
  set.add(json::parse(R"({">": [{"var": "event.amount"}, 100]})"));
  set.add(json::parse(R"({"cat": [{"var": "customer.tier"}, "/", {"var": "event.store"}]})"));
  set.add(json::parse(R"({"map": [{"var": "event.items"}, {"var": "sku"}]})"));
  json event = json::parse(kTypicalData);
  event["event"]["items"] = json::parse(R"([{"sku": "A"}, {"sku": "B"}])");
  rules::PreparedData data = set.prepare(event);
  rules::Evaluator evaluator;
  CHECK(evaluator.matches(set[0], data));
  CHECK_FALSE(evaluator.matches(set[1], data));
  CHECK(rules::to_json(evaluator.evaluate(set[2], data)) == "silver/BYO-02");
  CHECK(rules::to_json(evaluator.evaluate(set[3], data)) == json::parse(R"(["A", "B"])"));
  // The shared layout holds each root path once.
  std::set<std::string> paths;
  for (std::uint32_t i = 0; i < set[0].layout()->size(); ++i) {
    paths.insert(std::string(set[0].layout()->path(i)));
  }
  CHECK(paths == std::set<std::string>{"event.type", "event.amount", "event.store", "customer.tier",
                                       "event.items_count", "event.items"});
  CHECK(set[0].layout()->size() == paths.size());
}

TEST_CASE("rules: data prepared for another layout still evaluates correctly", "[unit]") {
  auto program = rules::compile(json::parse(kTypicalRule));
  auto other = rules::compile(json::parse(R"({"var": "customer.tier"})"));
  json event = json::parse(kTypicalData);
  rules::Evaluator evaluator;
  auto for_other = rules::prepare(event, other.layout());
  auto unprepared = rules::prepare(event, nullptr);
  CHECK(evaluator.matches(program, for_other));
  CHECK(evaluator.matches(program, unprepared));
  // A rule compiled into a layout after the data was prepared reads past the old slots.
  rules::RuleSet set;
  set.add(json::parse(R"({"var": "event.type"})"));
  auto early = set.prepare(event);
  set.add(json::parse(R"({"var": "event.store"})"));
  CHECK(rules::to_json(evaluator.evaluate(set[1], early)) == "BYO-02");
}

TEST_CASE("rules: evaluating the typical rule allocates nothing", "[unit]") {
  auto program = rules::compile(json::parse(kTypicalRule));
  auto data = rules::prepare(json::parse(kTypicalData), program.layout());
  rules::Evaluator evaluator;
  evaluator.evaluate(program, data);
  std::size_t before = allocations;
  bool all = true;
  for (int i = 0; i < 1000; ++i) all = evaluator.matches(program, data) && all;
  CHECK(allocations == before);
  CHECK(all);
}

TEST_CASE("rules: rules that build arrays and strings stop allocating once warm", "[unit]") {
  auto program = rules::compile(json::parse(R"({"and": [
      {"some": [{"map": [{"var": "items"}, {"*": [{"var": "qty"}, {"var": "price"}]}]},
                {">": [{"var": ""}, 10]}]},
      {"in": ["BYO", {"cat": [{"var": "store"}, "-", {"substr": [{"var": "code"}, 0, 3]}]}]}]})"));
  auto data = rules::prepare(json::parse(R"({"store": "BYO", "code": "02-X",
      "items": [{"qty": 2, "price": 3.5}, {"qty": 1, "price": 12}]})"),
                             program.layout());
  rules::Evaluator evaluator;
  for (int i = 0; i < 3; ++i) evaluator.evaluate(program, data);
  std::size_t before = allocations;
  bool all = true;
  for (int i = 0; i < 1000; ++i) all = evaluator.matches(program, data) && all;
  CHECK(allocations == before);
  CHECK(all);
}

TEST_CASE("rules: evaluation never throws, whatever the data", "[unit]") {
  rules::RuleSet set;
  const char* logics[] = {
      R"({"+": [{"var": "a"}, {"var": "b"}]})",
      R"({"<": [{"var": "a"}, {"var": "b"}, {"var": "c"}]})",
      R"({"==": [{"var": "a"}, {"var": "b"}]})",
      R"({"in": [{"var": "a"}, {"var": "b"}]})",
      R"({"substr": [{"var": "a"}, {"var": "b"}, {"var": "c"}]})",
      R"({"cat": [{"var": "a"}, {"var": "b"}]})",
      R"({"map": [{"var": "a"}, {"-": [{"var": "x"}, {"var": ""}]}]})",
      R"({"reduce": [{"var": "b"}, {"%": [{"var": "current"}, {"var": "accumulator"}]}, {"var": "c"}]})",
      R"({"missing_some": [{"var": "a"}, {"var": "b"}]})",
      R"({"missing": {"var": "c"}})",
      R"({"var": {"var": "a"}})",
      R"({"max": [{"var": "a"}, {"var": "b"}]})",
      R"({"merge": [{"var": "a"}, {"var": "b"}, {"var": "c"}]})",
  };
  for (const char* logic : logics) set.add(json::parse(logic));
  const char* values[] = {R"(null)",
                          R"(true)",
                          R"(-0.0)",
                          R"(1e308)",
                          R"("")",
                          R"("1e400")",
                          R"(" \t0x1F ")",
                          R"("\u00e9\u2603")",
                          R"([])",
                          R"([[], [null]])",
                          R"({})",
                          R"({"x": [1, "2"]})",
                          R"([1, "a", {"b": []}])"};
  rules::Evaluator evaluator;
  std::size_t evaluations = 0;
  for (const char* a : values) {
    for (const char* b : values) {
      for (const char* c : {R"(0)", R"("x")", R"([2])"}) {
        json data = {{"a", json::parse(a)}, {"b", json::parse(b)}, {"c", json::parse(c)}};
        auto prepared = set.prepare(data);
        for (std::size_t i = 0; i < set.size(); ++i) {
          CHECK_NOTHROW(rules::to_json(evaluator.evaluate(set[i], prepared)));
          CHECK(evaluator.outcome() == rules::Outcome::ok);
          ++evaluations;
        }
      }
    }
  }
  CHECK(evaluations == 13 * 13 * 3 * 13);
}

TEST_CASE("rules: the operator catalogue lists every standard and loyalty operator", "[unit]") {
  std::set<std::string> standard;
  std::set<std::string> loyalty;
  for (const auto& op : rules::operators()) {
    (op.loyalty ? loyalty : standard).insert(std::string(op.name));
    CHECK_FALSE(op.synopsis.empty());
    CHECK_FALSE(op.summary.empty());
  }
  CHECK(standard == std::set<std::string>{
                        "var", "missing", "missing_some", "if",  "?:",   "==",   "===",   "!=",
                        "!==", "!",       "!!",           "or",  "and",  ">",    ">=",    "<",
                        "<=",  "max",     "min",          "+",   "-",    "*",    "/",     "%",
                        "map", "filter",  "reduce",       "all", "none", "some", "merge", "in",
                        "cat", "substr",  "log"});
  CHECK(loyalty == std::set<std::string>{"event_count", "purchase_total", "days_since_last",
                                         "visit_number", "birthday_within", "weekday_in",
                                         "local_time_between", "has_tag", "in_segment",
                                         "days_since_enrolment"});
}

TEST_CASE("rules: bench reports the mean time per evaluation and the result", "[unit]") {
  auto result = rules::bench(json::parse(kTypicalRule), json::parse(kTypicalData), 1000);
  CHECK(result.iterations == 1000);
  CHECK(result.ns_per_eval > 0);
  CHECK(result.result == true);
  CHECK_THROWS_AS(rules::bench(json::parse(kTypicalRule), json::object(), 0), loyalty::Error);
}
