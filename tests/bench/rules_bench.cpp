// Rules engine micro benchmarks: the issue's typical rule (target: at most 60 ns per evaluation
// on the project's 2-core machine), and what surrounds it on the event path.
#include <benchmark/benchmark.h>

#include <loyalty/rules/engine.hpp>

#include <string>

namespace {

using nlohmann::json;
namespace rules = loyalty::rules;

const json kTypicalRule = json::parse(R"({"and":[{"==":[{"var":"event.type"},"purchase"]},
  {">=":[{"var":"event.amount"},50]},{"in":[{"var":"event.store"},["HRE-01","BYO-02","MUT-03"]]},
  {"or":[{"==":[{"var":"customer.tier"},"gold"]},{">":[{"var":"event.items_count"},3]}]}]})");
const json kTypicalData = json::parse(R"({"event":{"type":"purchase","amount":72.5,
  "store":"BYO-02","items_count":5},"customer":{"tier":"silver"}})");

// Evaluator::matches, the call the event pipeline makes per rule.
void BM_TypicalRuleMatches(benchmark::State& state) {
  auto program = rules::compile(kTypicalRule);
  auto data = rules::prepare(kTypicalData, program.layout());
  rules::Evaluator evaluator;
  for (auto _ : state) benchmark::DoNotOptimize(evaluator.matches(program, data));
}
BENCHMARK(BM_TypicalRuleMatches);

// Evaluator::evaluate, which also returns the rule's value (what `loyaltyctl rules bench` times).
void BM_TypicalRuleEvaluate(benchmark::State& state) {
  auto program = rules::compile(kTypicalRule);
  auto data = rules::prepare(kTypicalData, program.layout());
  rules::Evaluator evaluator;
  for (auto _ : state) benchmark::DoNotOptimize(evaluator.evaluate(program, data));
}
BENCHMARK(BM_TypicalRuleEvaluate);

// Preparing an event once, for all of a tenant's rules.
void BM_PrepareTypicalEvent(benchmark::State& state) {
  auto program = rules::compile(kTypicalRule);
  for (auto _ : state) benchmark::DoNotOptimize(rules::prepare(kTypicalData, program.layout()));
}
BENCHMARK(BM_PrepareTypicalEvent);

// Compiling, done once per rule until the tenant's rules change.
void BM_CompileTypicalRule(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(rules::compile(kTypicalRule));
}
BENCHMARK(BM_CompileTypicalRule);

// One event against a tenant's 50 rules: prepare once, evaluate each.
void BM_FiftyRulesPerEvent(benchmark::State& state) {
  rules::RuleSet set;
  for (int i = 0; i < 50; ++i) {
    json rule = kTypicalRule;
    rule["and"][1][">="][1] = 10 * i;
    rule["and"][3]["or"][0]["=="][1] = "tier-" + std::to_string(i % 7);
    set.add(rule);
  }
  rules::Evaluator evaluator;
  for (auto _ : state) {
    auto data = set.prepare(kTypicalData);
    int matched = 0;
    for (std::size_t i = 0; i < set.size(); ++i) matched += evaluator.matches(set[i], data);
    benchmark::DoNotOptimize(matched);
  }
}
BENCHMARK(BM_FiftyRulesPerEvent);

// A rule over the basket's items: map, filter and reduce build arrays in scratch memory.
void BM_BasketRule(benchmark::State& state) {
  auto program = rules::compile(json::parse(R"({"and": [
    {">=": [{"reduce": [{"var": "event.items"},
      {"+": [{"var": "accumulator"}, {"*": [{"var": "current.qty"}, {"var": "current.price"}]}]},
      0]}, 50]},
    {"some": [{"var": "event.items"}, {"in": [{"var": "sku"}, ["MILK-1L", "BREAD"]]}]}]})"));
  json items = json::array();
  for (int i = 0; i < 10; ++i) {
    items.push_back({{"sku", i == 7 ? "BREAD" : "SKU-" + std::to_string(i)},
                     {"qty", 1 + i % 3},
                     {"price", 2.5 + i}});
  }
  auto data = rules::prepare({{"event", {{"items", items}}}}, program.layout());
  rules::Evaluator evaluator;
  for (auto _ : state) benchmark::DoNotOptimize(evaluator.matches(program, data));
}
BENCHMARK(BM_BasketRule);

}  // namespace

BENCHMARK_MAIN();
