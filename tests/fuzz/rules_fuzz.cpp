// libFuzzer target for the rules engine: parse, validate (as JsonLogic and as rule definitions),
// compile, prepare and evaluate arbitrary input. The input is a rule's JSON text, optionally
// followed by a newline and the data's JSON text. The only exception the engine may throw is
// loyalty::Error; anything else (or a crash, a leak, a hang) is a finding.
//
//   cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DLOYALTY_FUZZ=ON \
//     -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link,address && cmake --build build-fuzz -t rules_fuzz
//   build-fuzz/tests/rules_fuzz -max_total_time=300 CORPUS_DIR
#include <loyalty/core/error.hpp>
#include <loyalty/rules/definition.hpp>
#include <loyalty/rules/engine.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

namespace rules = loyalty::rules;
using namespace std::chrono;

// Answers derived from the arguments, so that every operator produces varied values.
class FuzzHistory : public rules::HistoryProvider {
 public:
  std::optional<rules::LocalDateTime> local_time() override {
    return rules::LocalDateTime{2024y / February / 29, hours{23} + minutes{59}};
  }
  std::int64_t event_count(std::string_view type, int days) override {
    return static_cast<std::int64_t>(type.size()) * days;
  }
  double purchase_total(int days, std::string_view currency) override {
    return days * 12.5 + static_cast<double>(currency.size());
  }
  std::optional<year_month_day> last_event_date(std::string_view type) override {
    if (type.empty() || type[0] == 'x') return std::nullopt;
    return sys_days{2024y / January / 1} + days{static_cast<int>(type.size())};
  }
  std::int64_t visit_number(std::string_view type) override {
    return static_cast<std::int64_t>(type.size());
  }
  std::optional<month_day> birthday() override { return February / 29; }
  std::optional<year_month_day> enrolment_date() override { return 2023y / March / 31; }
  bool has_tag(std::string_view tag) override { return tag.size() % 2 == 0; }
  bool in_segment(std::string_view segment) override { return segment.size() % 3 == 0; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(bytes), size);
  std::size_t newline = input.find('\n');
  std::string_view logic_text = input.substr(0, newline);
  std::string_view data_text =
      newline == std::string_view::npos ? std::string_view("null") : input.substr(newline + 1);

  nlohmann::json logic;
  try {
    logic = rules::parse_document(logic_text, rules::Limits::for_definition_files());
  } catch (const loyalty::Error&) {
    return 0;
  }
  (void)rules::check_definitions(logic);
  (void)rules::check_logic(logic, "/conditions");
  try {
    rules::Program program = rules::compile(logic);
    (void)program.requirements();
    nlohmann::json data = rules::parse_document(data_text, rules::Limits::for_data());
    rules::PreparedData prepared = rules::prepare(data, program.layout());
    FuzzHistory history;
    rules::Limits limits;
    limits.max_eval_steps = 100'000;  // keep each input fast
    rules::Evaluator evaluator(limits);
    evaluator.set_log_sink([](const rules::Value& v) { (void)rules::truthy(v); });
    rules::Value result = evaluator.evaluate(program, prepared, &history);
    rules::Outcome evaluated = evaluator.outcome();
    bool result_truthy = rules::truthy(result);
    std::string printed = rules::to_json(result).dump();  // before the next evaluation
    bool matched = evaluator.matches(program, prepared, &history);
    if (evaluated == rules::Outcome::ok && evaluator.outcome() == rules::Outcome::ok &&
        matched != result_truthy) {
      __builtin_trap();  // matches must agree with evaluate
    }
  } catch (const loyalty::Error&) {
  }
  return 0;
}
