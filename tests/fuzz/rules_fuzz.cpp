// libFuzzer target for the rules engine: parse, validate (as JsonLogic and as rule definitions),
// compile, prepare and evaluate arbitrary input. The input is a rule's JSON text, optionally
// followed by a newline and the data's JSON text. The only exception the engine may throw is
// loyalty::Error; anything else (or a crash, a leak, a hang, UB) is a finding, and so is a rule
// definition that does not survive to_json and parse_definitions unchanged, or a program whose
// matches() disagrees with evaluate().
//
//   scripts/fuzz rules
#include <loyalty/core/error.hpp>
#include <loyalty/rules/definition.hpp>
#include <loyalty/rules/engine.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

// The object in a definition document that a valid rule was read from (names are unique).
const nlohmann::json* source_of(const nlohmann::json& document, const std::string& name) {
  const nlohmann::json* list = &document;
  if (document.is_object()) {
    if (!document.contains("rules")) return &document;
    list = &document["rules"];
  }
  for (const auto& item : *list) {
    auto it = item.find("name");
    if (it != item.end() && it->is_string() && it->get_ref<const std::string&>() == name) {
      return &item;
    }
  }
  return nullptr;
}

// A whole number given in the document is read as that number (not wrapped or rounded).
void check_same_number(const nlohmann::json& source, const char* key, double read) {
  auto it = source.find(key);
  if (it != source.end() && it->is_number() && it->get<double>() != read) __builtin_trap();
}

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
  const rules::DefinitionCheck definitions = rules::check_definitions(logic);
  if (definitions.errors.empty() && definitions.rules.size() != definitions.count) {
    __builtin_trap();  // a rule left out has its problem reported
  }
  for (const rules::RuleDefinition& rule : definitions.rules) {
    // The documented round trip: parse_definitions(to_json(rule)) gives the rule back.
    std::vector<rules::RuleDefinition> again = rules::parse_definitions(rules::to_json(rule));
    if (again.size() != 1 || !(again[0] == rule)) __builtin_trap();
    const nlohmann::json* source = source_of(logic, rule.name);
    if (source == nullptr) __builtin_trap();
    check_same_number(*source, "priority", rule.priority);
    if (auto caps = source->find("caps"); caps != source->end() && caps->is_object()) {
      if (rule.caps.cooldown) check_same_number(*caps, "cooldown", double(*rule.caps.cooldown));
    }
  }
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
