// loyaltyctl rules eval|validate|bench: offline work on rules; none of these opens the database.
// Subcommands that need a tenant (import, export, simulate) join the same group through
// rules_group().
#include "commands.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/rules/definition.hpp>
#include <loyalty/rules/engine.hpp>

#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>

namespace loyaltyctl {
namespace {

namespace rules = loyalty::rules;
using nlohmann::json;

// Reads at most max_bytes + 1 bytes, so that the parser reports an over-long input.
std::string read_all(std::istream& in, std::size_t max_bytes) {
  std::string text;
  char buffer[64 * 1024];
  while (text.size() <= max_bytes && in.read(buffer, sizeof buffer).gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
  }
  return text;
}

std::string read_file(const std::string& path, std::size_t max_bytes) {
  if (path == "-") return read_all(std::cin, max_bytes);
  std::ifstream file(path, std::ios::binary);
  if (!file) loyalty::throw_not_found("file " + path);
  return read_all(file, max_bytes);
}

// Parses JSON text given on the command line ("-" reads stdin), naming the argument in errors.
json parse_json_argument(std::string_view what, const std::string& text,
                         const rules::Limits& limits) {
  try {
    return rules::parse_document(text == "-" ? read_all(std::cin, limits.max_document_bytes) : text,
                                 limits);
  } catch (const loyalty::Error& e) {
    throw loyalty::Error(e.code(), e.type(), std::string(what) + ": " + e.what(), e.fields());
  }
}

json parse_json_file(std::string_view what, const std::string& path, const rules::Limits& limits) {
  std::string text = read_file(path, limits.max_document_bytes);
  try {
    return rules::parse_document(text, limits);
  } catch (const loyalty::Error& e) {
    throw loyalty::Error(e.code(), e.type(), std::string(what) + ": " + e.what(), e.fields());
  }
}

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

struct EvalOptions {
  std::string logic;
  std::string data;
  std::string logic_file;
  std::string data_file;
};

void add_eval(CLI::App& group) {
  auto options = std::make_shared<EvalOptions>();
  auto* eval = group.add_subcommand(
      "eval", "evaluate a JsonLogic rule on data and print the result as JSON (offline)");
  auto* logic = eval->add_option("logic", options->logic, "the rule as JSON text; - reads stdin");
  auto* data =
      eval->add_option("data", options->data, "the data as JSON text; - reads stdin (default {})");
  auto* logic_file =
      eval->add_option("--logic-file", options->logic_file, "read the rule from FILE")
          ->type_name("FILE");
  auto* data_file = eval->add_option("--data-file", options->data_file, "read the data from FILE")
                        ->type_name("FILE");
  data_file->excludes(data);
  eval->callback([=] {
    // With --logic-file, a single positional argument is the data.
    std::string logic_text = options->logic;
    std::string data_text = options->data;
    bool has_logic = logic->count() > 0;
    if (logic_file->count() > 0) {
      if (has_logic && data->count() == 0 && data_file->count() == 0) {
        data_text = logic_text;
      } else if (has_logic) {
        loyalty::throw_invalid("give the rule either as LOGIC or with --logic-file, not both");
      }
    } else if (!has_logic) {
      loyalty::throw_invalid("give the rule as LOGIC (JSON text, or - for stdin) or --logic-file");
    }
    bool logic_from_stdin = logic_file->count() == 0 && logic_text == "-";
    bool data_from_stdin = data_file->count() == 0 && data_text == "-";
    if (logic_from_stdin && data_from_stdin) {
      loyalty::throw_invalid("only one of LOGIC and DATA can be read from stdin");
    }
    auto rule_limits = rules::Limits::for_rules();
    auto data_limits = rules::Limits::for_data();
    json rule = logic_file->count() > 0 ? parse_json_file("LOGIC", options->logic_file, rule_limits)
                                        : parse_json_argument("LOGIC", logic_text, rule_limits);
    json input = data_file->count() > 0 ? parse_json_file("DATA", options->data_file, data_limits)
                 : data_text.empty()    ? json::object()
                                        : parse_json_argument("DATA", data_text, data_limits);
    json result = rules::apply(rule, input, nullptr,
                               [](const json& v) { std::cerr << "log: " << dump(v) << "\n"; });
    std::cout << dump(result) << "\n";
  });
}

void add_validate(CLI::App& group, Context& ctx) {
  auto file = std::make_shared<std::string>();
  auto* validate = group.add_subcommand(
      "validate",
      "check a file of rule definitions (one rule, an array, or {\"rules\": [...]}) and print "
      "every problem with its JSON pointer (offline; rewards are checked at import)");
  validate->add_option("file", *file, "the rules file; - reads stdin")->required();
  add_json_flag(validate, ctx);
  validate->callback([file, &ctx] {
    json document = parse_json_file(*file, *file, rules::Limits::for_definition_files());
    rules::DefinitionCheck check = rules::check_definitions(document);
    if (ctx.json) {
      json errors = json::array();
      for (const auto& e : check.errors)
        errors.push_back({{"pointer", e.pointer}, {"message", e.message}});
      print_json({{"valid", check.errors.empty()}, {"rules", check.count}, {"errors", errors}});
      if (!check.errors.empty()) throw CLI::RuntimeError(2);  // the report is on stdout
      return;
    }
    if (!check.errors.empty()) {
      std::size_t n = check.errors.size();
      loyalty::throw_invalid(*file + ": " + std::to_string(n) + (n == 1 ? " problem" : " problems"),
                             std::move(check.errors));
    }
    std::cout << *file << ": " << check.count << (check.count == 1 ? " rule" : " rules")
              << ", valid\n";
  });
}

void add_bench(CLI::App& group) {
  struct BenchOptions {
    std::string logic;
    std::string data;
    std::uint64_t iterations = 1'000'000;
  };
  auto options = std::make_shared<BenchOptions>();
  auto* bench = group.add_subcommand(
      "bench",
      "compile LOGIC once, evaluate it ITERATIONS times on DATA prepared once, and print "
      "{\"iterations\", \"ns_per_eval\", \"result\"}");
  bench->add_option("logic", options->logic, "the rule as JSON text; - reads stdin")->required();
  bench->add_option("data", options->data, "the data as JSON text; - reads stdin")->required();
  bench->add_option("--iterations", options->iterations, "number of evaluations")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{10'000'000'000}));
  bench->callback([options] {
    if (options->logic == "-" && options->data == "-") {
      loyalty::throw_invalid("only one of LOGIC and DATA can be read from stdin");
    }
    json logic = parse_json_argument("LOGIC", options->logic, rules::Limits::for_rules());
    json data = parse_json_argument("DATA", options->data, rules::Limits::for_data());
    rules::BenchResult result = rules::bench(logic, data, options->iterations);
    json out = {{"iterations", result.iterations},
                {"ns_per_eval", std::round(result.ns_per_eval * 100) / 100},
                {"result", result.result}};
    std::cout << dump(out) << "\n";
  });
}

}  // namespace

CLI::App* rules_group(CLI::App& app) {
  auto existing = app.get_subcommands([](CLI::App* sub) { return sub->get_name() == "rules"; });
  if (!existing.empty()) return existing.front();
  auto* group =
      app.add_subcommand("rules", "work with rules: JsonLogic conditions and rule definitions");
  group->require_subcommand(1);
  return group;
}

void add_rules_commands(CLI::App& app, Context& ctx) {
  CLI::App* group = rules_group(app);
  add_eval(*group);
  add_validate(*group, ctx);
  add_bench(*group);
}

namespace {
const CommandGroup kRules(50, add_rules_commands);
}  // namespace

}  // namespace loyaltyctl
