// The compiler: JsonLogic (nlohmann::json) to a flat array of nodes. Every check happens here,
// so that evaluation never meets an unknown operator or a malformed argument.
#include <loyalty/rules/engine.hpp>

#include "internal.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

namespace loyalty::rules {
namespace {

using detail::Node;
using detail::Op;
using json = nlohmann::json;

constexpr int kAny = -1;

struct OperatorSpec {
  OperatorInfo info;
  Op op;
  int min_args;
  int max_args;
};

// clang-format off
constexpr OperatorSpec kOperatorSpecs[] = {
  {{"var", false, R"({"var": PATH} or {"var": [PATH, DEFAULT]})",
    "the value at a dotted PATH of the data (\"event.amount\", \"event.items.0\"), DEFAULT or null if absent; \"\" is the whole data"},
   Op::var_path, 0, 2},
  {{"missing", false, R"({"missing": [KEY, ...]})", "the KEYs whose var is null or \"\", as an array"},
   Op::missing, 0, kAny},
  {{"missing_some", false, R"({"missing_some": [N, [KEY, ...]]})",
    "[] when at least N of the KEYs are present, else the missing ones"},
   Op::missing_some, 2, 2},
  {{"if", false, R"({"if": [COND, THEN, COND2, THEN2, ..., ELSE]})",
    "the THEN of the first truthy COND, else ELSE (or null)"}, Op::if_, 0, kAny},
  {{"?:", false, R"({"?:": [COND, THEN, ELSE]})", "the same as if"}, Op::if_, 0, kAny},
  {{"==", false, R"({"==": [A, B]})", "equality with JavaScript type coercion (1 == \"1\")"}, Op::eq, 2, 2},
  {{"===", false, R"({"===": [A, B]})", "strict equality (same type and value)"}, Op::strict_eq, 2, 2},
  {{"!=", false, R"({"!=": [A, B]})", "not ==" }, Op::ne, 2, 2},
  {{"!==", false, R"({"!==": [A, B]})", "not ==="}, Op::strict_ne, 2, 2},
  {{"!", false, R"({"!": [A]})", "true when A is falsy"}, Op::not_, 1, 1},
  {{"!!", false, R"({"!!": [A]})", "true when A is truthy"}, Op::to_bool, 1, 1},
  {{"or", false, R"({"or": [A, B, ...]})", "the first truthy argument, else the last"}, Op::or_, 0, kAny},
  {{"and", false, R"({"and": [A, B, ...]})", "the first falsy argument, else the last"}, Op::and_, 0, kAny},
  {{">", false, R"({">": [A, B]})", "A greater than B"}, Op::gt, 2, 2},
  {{">=", false, R"({">=": [A, B]})", "A greater than or equal to B"}, Op::ge, 2, 2},
  {{"<", false, R"({"<": [A, B]} or {"<": [A, B, C]})", "A less than B (and B less than C)"}, Op::lt, 2, 3},
  {{"<=", false, R"({"<=": [A, B]} or {"<=": [A, B, C]})",
    "A less than or equal to B (and B to C)"}, Op::le, 2, 3},
  {{"max", false, R"({"max": [A, ...]})", "the largest number"}, Op::max, 0, kAny},
  {{"min", false, R"({"min": [A, ...]})", "the smallest number"}, Op::min, 0, kAny},
  {{"+", false, R"({"+": [A, ...]})", "the sum; {\"+\": \"3\"} casts a string to a number"}, Op::add, 0, kAny},
  {{"-", false, R"({"-": [A, B]} or {"-": [A]})", "A minus B, or minus A"}, Op::sub, 1, 2},
  {{"*", false, R"({"*": [A, ...]})", "the product"}, Op::mul, 1, kAny},
  {{"/", false, R"({"/": [A, B]})", "A divided by B"}, Op::div, 2, 2},
  {{"%", false, R"({"%": [A, B]})", "the remainder of A divided by B"}, Op::mod, 2, 2},
  {{"map", false, R"({"map": [ARRAY, LOGIC]})",
    "LOGIC applied to each element (the element is the data of LOGIC)"}, Op::map, 2, 2},
  {{"filter", false, R"({"filter": [ARRAY, LOGIC]})", "the elements for which LOGIC is truthy"},
   Op::filter, 2, 2},
  {{"reduce", false, R"({"reduce": [ARRAY, LOGIC, INITIAL]})",
    "folds the array: LOGIC sees {\"current\", \"accumulator\"}"}, Op::reduce, 2, 3},
  {{"all", false, R"({"all": [ARRAY, LOGIC]})",
    "LOGIC truthy for every element (false for an empty array)"}, Op::all, 2, 2},
  {{"none", false, R"({"none": [ARRAY, LOGIC]})", "LOGIC truthy for no element"}, Op::none, 2, 2},
  {{"some", false, R"({"some": [ARRAY, LOGIC]})", "LOGIC truthy for at least one element"},
   Op::some, 2, 2},
  {{"merge", false, R"({"merge": [A, ...]})", "one array of the arrays (and single values) given"},
   Op::merge, 0, kAny},
  {{"in", false, R"({"in": [A, B]})", "A is an element of array B, or a substring of string B"},
   Op::in, 2, 2},
  {{"cat", false, R"({"cat": [A, ...]})", "the arguments as strings, concatenated"}, Op::cat, 0, kAny},
  {{"substr", false, R"({"substr": [STRING, START, LENGTH]})",
    "part of a string; a negative START counts from the end, a negative LENGTH stops before the end"},
   Op::substr, 2, 3},
  {{"log", false, R"({"log": A})", "A, also handed to the evaluator's log sink"}, Op::log, 1, 1},

  {{"event_count", true, R"({"event_count": [EVENT_TYPE, DAYS]})",
    "number of the customer's earlier events of EVENT_TYPE in the last DAYS days"},
   Op::event_count, 2, 2},
  {{"purchase_total", true, R"({"purchase_total": [DAYS]} or {"purchase_total": [DAYS, CURRENCY]})",
    "sum of the amounts of the customer's earlier purchases in the last DAYS days"},
   Op::purchase_total, 1, 2},
  {{"days_since_last", true, R"({"days_since_last": [EVENT_TYPE]})",
    "local calendar days since the customer's latest earlier event of EVENT_TYPE; null if none"},
   Op::days_since_last, 1, 1},
  {{"visit_number", true, R"({"visit_number": [EVENT_TYPE]})",
    "the number of this event among the customer's events of EVENT_TYPE (1 = first)"},
   Op::visit_number, 1, 1},
  {{"birthday_within", true, R"({"birthday_within": [DAYS]})",
    "the customer's birthday is today or within the next DAYS days"}, Op::birthday_within, 1, 1},
  {{"weekday_in", true, R"({"weekday_in": [DAY, ...]})",
    "the event's local weekday is one of the DAYs (mon, tue, ... or monday, ...)"},
   Op::weekday_in, 1, 7},
  {{"local_time_between", true, R"({"local_time_between": [START, END]})",
    "the event's local time of day is at or after START and before END (\"HH:MM\"); wraps midnight when START > END"},
   Op::local_time_between, 2, 2},
  {{"has_tag", true, R"({"has_tag": [TAG]})", "the customer carries TAG"}, Op::has_tag, 1, 1},
  {{"in_segment", true, R"({"in_segment": [SEGMENT]})", "the customer belongs to SEGMENT"},
   Op::in_segment, 1, 1},
  {{"days_since_enrolment", true, R"({"days_since_enrolment": []})",
    "local calendar days since the customer enrolled; null if unknown"},
   Op::days_since_enrolment, 0, 0},
};
// clang-format on

const OperatorSpec* find_operator(std::string_view name) {
  static const std::unordered_map<std::string_view, const OperatorSpec*> index = [] {
    std::unordered_map<std::string_view, const OperatorSpec*> map;
    for (const auto& spec : kOperatorSpecs) map.emplace(spec.info.name, &spec);
    return map;
  }();
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string arity_message(const OperatorSpec& spec) {
  std::string name = in_quotes(spec.info.name);
  if (spec.min_args == spec.max_args) {
    if (spec.min_args == 0) return name + " takes no arguments: " + std::string(spec.info.synopsis);
    return name + " takes " + std::to_string(spec.min_args) + " argument" +
           (spec.min_args == 1 ? "" : "s") + ": " + std::string(spec.info.synopsis);
  }
  if (spec.max_args == kAny) {
    return name + " takes at least " + std::to_string(spec.min_args) + " argument" +
           (spec.min_args == 1 ? "" : "s") + ": " + std::string(spec.info.synopsis);
  }
  return name + " takes " + std::to_string(spec.min_args) + " to " + std::to_string(spec.max_args) +
         " arguments: " + std::string(spec.info.synopsis);
}

std::optional<std::int64_t> integral(const json& j) {
  // is_number_integer() is true for unsigned numbers too: past INT64_MAX they would wrap.
  if (j.is_number_unsigned()) {
    auto u = j.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(u);
  }
  if (j.is_number_integer()) return j.get<std::int64_t>();
  if (j.is_number_float()) {
    double d = j.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
      return static_cast<std::int64_t>(d);
    }
  }
  return std::nullopt;
}

// "HH:MM" or "HH:MM:SS" as seconds since midnight; "24:00" only where allow_24.
std::optional<std::uint32_t> parse_clock(std::string_view text, bool allow_24) {
  auto two = [&](std::size_t at) -> int {
    if (at + 2 > text.size() || !std::isdigit(static_cast<unsigned char>(text[at])) ||
        !std::isdigit(static_cast<unsigned char>(text[at + 1]))) {
      return -1;
    }
    return (text[at] - '0') * 10 + (text[at + 1] - '0');
  };
  if (text.size() != 5 && text.size() != 8) return std::nullopt;
  if (text[2] != ':' || (text.size() == 8 && text[5] != ':')) return std::nullopt;
  int h = two(0);
  int m = two(3);
  int s = text.size() == 8 ? two(6) : 0;
  if (h < 0 || m < 0 || s < 0 || m > 59 || s > 59) return std::nullopt;
  if (h == 24 && allow_24 && m == 0 && s == 0) return 24 * 3600;
  if (h > 23) return std::nullopt;
  return static_cast<std::uint32_t>(h * 3600 + m * 60 + s);
}

std::optional<unsigned> parse_weekday(std::string_view text) {
  static constexpr std::array<std::string_view, 7> kShort = {"mon", "tue", "wed", "thu",
                                                             "fri", "sat", "sun"};
  static constexpr std::array<std::string_view, 7> kLong = {
      "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (unsigned i = 0; i < 7; ++i) {
    if (lower == kShort[i] || lower == kLong[i]) return i + 1;  // ISO: Monday is 1
  }
  return std::nullopt;
}

class Compiler {
 public:
  Compiler(Program::Impl& program, DataLayout& layout, const Limits& limits,
           std::string_view prefix)
      : program_(program), layout_(layout), limits_(limits), pointer_(prefix), root_(prefix) {}

  std::vector<FieldError> errors;

  void compile_root(const json& logic) {
    program_.nodes.emplace_back();
    compile(0, logic, 0, false);
    if (errors.empty()) {
      weigh(0);
      program_.boolean_result = is_boolean(0);
    }
    auto& req = program_.requirements;
    std::sort(req.begin(), req.end());
    req.erase(std::unique(req.begin(), req.end()), req.end());
  }

 private:
  struct Mark {
    std::string& pointer;
    std::size_t size;
    ~Mark() { pointer.resize(size); }
  };

  void error(std::string message) { errors.push_back({pointer_, std::move(message)}); }

  // Whether node `index` always evaluates to true or false (and/or give back an operand, so
  // they do when all their operands do).
  bool is_boolean(std::uint32_t index) const {
    const Node& node = program_.nodes[index];
    switch (node.op) {
      case Op::literal:
        return node.constant.is_boolean();
      case Op::and_:
      case Op::or_:
        if (node.argc == 0) return false;
        for (std::uint32_t i = 0; i < node.argc; ++i) {
          if (!is_boolean(node.first + i)) return false;
        }
        return true;
      case Op::not_:
      case Op::to_bool:
      case Op::eq:
      case Op::ne:
      case Op::strict_eq:
      case Op::strict_ne:
      case Op::lt:
      case Op::le:
      case Op::gt:
      case Op::ge:
      case Op::in:
      case Op::eq_slot:
      case Op::ne_slot:
      case Op::strict_eq_slot:
      case Op::strict_ne_slot:
      case Op::lt_slot:
      case Op::le_slot:
      case Op::gt_slot:
      case Op::ge_slot:
      case Op::in_slot:
      case Op::all:
      case Op::some:
      case Op::none:
        return true;
      default:
        return false;
    }
  }

  // The number of nodes under node `index`; loops record the size of their logic, which is what
  // each element costs against the evaluation's step budget.
  std::uint32_t weigh(std::uint32_t index) {
    Node& node = program_.nodes[index];
    bool loop = node.op == Op::map || node.op == Op::filter || node.op == Op::reduce ||
                node.op == Op::all || node.op == Op::some || node.op == Op::none;
    std::uint32_t weight = 1;
    for (std::uint32_t i = 0; i < node.argc; ++i) {
      std::uint32_t operand = weigh(node.first + i);
      if (loop && i == 1) node.aux = operand;
      weight += operand;
    }
    return weight;
  }

  bool count_node() {
    if (stopped_) return false;
    if (++nodes_ > limits_.max_nodes) {
      errors.push_back(
          {root_, "the rule has more than " + std::to_string(limits_.max_nodes) + " values"});
      stopped_ = true;
      return false;
    }
    return true;
  }

  Node literal(Value v) {
    Node n;
    n.constant = v;
    return n;
  }

  // Compiles `j`, enclosed in `depth` arrays/objects, into node `at`.
  void compile(std::uint32_t at, const json& j, int depth, bool scoped) {
    if (!count_node()) return;
    using T = json::value_t;
    switch (j.type()) {
      case T::null:
        program_.nodes[at] = literal(Value());
        return;
      case T::boolean:
        program_.nodes[at] = literal(Value::boolean(j.get<bool>()));
        return;
      case T::number_integer:
        program_.nodes[at] = literal(Value::number(static_cast<double>(j.get<std::int64_t>())));
        return;
      case T::number_unsigned:
        program_.nodes[at] = literal(Value::number(static_cast<double>(j.get<std::uint64_t>())));
        return;
      case T::number_float:
        program_.nodes[at] = literal(Value::number(j.get<double>()));
        return;
      case T::string: {
        const auto& text = j.get_ref<const std::string&>();
        if (text.size() > limits_.max_string_bytes) {
          error("string longer than " + std::to_string(limits_.max_string_bytes) + " bytes");
          return;
        }
        program_.nodes[at] = literal(Value::string(program_.constants.copy(text)));
        return;
      }
      case T::array:
        compile_array(at, j, depth, scoped);
        return;
      case T::object:
        if (depth + 1 > limits_.max_depth) {
          error("nested deeper than " + std::to_string(limits_.max_depth) + " levels");
          return;
        }
        if (j.size() == 1) {
          compile_operator(at, j.begin().key(), j.begin().value(), depth + 1, scoped);
        } else {
          compile_object_literal(at, j, depth);
        }
        return;
      default:
        error("not a JSON value");
        return;
    }
  }

  bool check_container(const json& j, int depth) {
    if (depth + 1 > limits_.max_depth) {
      error("nested deeper than " + std::to_string(limits_.max_depth) + " levels");
      return false;
    }
    if (j.size() > limits_.max_array_length) {
      error("array with more than " + std::to_string(limits_.max_array_length) + " elements");
      return false;
    }
    return true;
  }

  // Allocates contiguous nodes for `items` and compiles each; returns the first index.
  std::uint32_t compile_children(const std::vector<const json*>& items, bool bare, int depth,
                                 const std::vector<bool>& scoped) {
    auto first = static_cast<std::uint32_t>(program_.nodes.size());
    program_.nodes.resize(program_.nodes.size() + items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      Mark mark{pointer_, pointer_.size()};
      if (!bare) detail::append_pointer_index(pointer_, i);
      compile(first + static_cast<std::uint32_t>(i), *items[i], depth, scoped[i]);
    }
    return first;
  }

  void compile_array(std::uint32_t at, const json& j, int depth, bool scoped) {
    if (!check_container(j, depth)) return;
    std::vector<const json*> items;
    for (const auto& item : j) items.push_back(&item);
    std::uint32_t first =
        compile_children(items, false, depth + 1, std::vector<bool>(items.size(), scoped));
    auto n = static_cast<std::uint32_t>(items.size());
    bool constant = true;
    for (std::uint32_t i = 0; i < n && constant; ++i) {
      constant = program_.nodes[first + i].op == Op::literal;
    }
    if (!constant) {
      Node node;
      node.op = Op::array;
      node.argc = n;
      node.first = first;
      program_.nodes[at] = node;
      return;
    }
    // An array of constants is a constant: fold it (its nodes were the last ones added).
    Value* values = program_.constants.allocate_array<Value>(n);
    std::uint16_t child_depth = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
      values[i] = program_.nodes[first + i].constant;
      child_depth = std::max(child_depth, values[i].depth());
    }
    program_.nodes.resize(first);
    program_.nodes[at] =
        literal(Value::array(values, n, static_cast<std::uint16_t>(child_depth + 1)));
  }

  // An object that is not a single-key operator is data, returned as is (not evaluated).
  void compile_object_literal(std::uint32_t at, const json& j, int depth) {
    detail::Importer importer{program_.constants, limits_, nodes_ - 1, std::nullopt};
    Value v = importer.import(j, depth, pointer_);
    nodes_ = importer.nodes;
    if (importer.error) {
      errors.push_back(*importer.error);
      if (nodes_ > limits_.max_nodes) stopped_ = true;
      return;
    }
    program_.nodes[at] = literal(v);
  }

  void compile_operator(std::uint32_t at, const std::string& name, const json& args, int depth,
                        bool scoped) {
    Mark mark{pointer_, pointer_.size()};
    detail::append_pointer_token(pointer_, name);
    const OperatorSpec* spec = find_operator(name);
    if (!spec) {
      error("unknown operator " + in_quotes(name));
      return;
    }
    // A single argument may be given bare: {"!": true} is {"!": [true]}.
    std::vector<const json*> items;
    bool bare = !args.is_array();
    if (bare) {
      items.push_back(&args);
    } else {
      if (!check_container(args, depth)) return;
      for (const auto& item : args) items.push_back(&item);
      ++depth;
    }
    auto argc = static_cast<int>(items.size());
    if (argc < spec->min_args || (spec->max_args != kAny && argc > spec->max_args)) {
      error(arity_message(*spec));
      return;
    }
    if (spec->info.loyalty) {
      compile_loyalty(at, *spec, items, bare);
      return;
    }
    std::vector<bool> scopes(items.size(), scoped);
    switch (spec->op) {
      case Op::map:
      case Op::filter:
      case Op::all:
      case Op::some:
      case Op::none:
      case Op::reduce:
        scopes[1] = true;
        break;  // the logic sees each element as its data
      default:
        break;
    }
    Node node;
    node.op = spec->op;
    node.argc = static_cast<std::uint32_t>(argc);
    node.first = compile_children(items, bare, depth, scopes);
    if (spec->op == Op::var_path) compile_var(node, scoped);
    fuse_slot_comparison(node);
    program_.nodes[at] = node;
  }

  // {"op": [{"var": PATH}, CONSTANT]} (or the constant first) on a root var becomes one node.
  void fuse_slot_comparison(Node& node) {
    if (node.argc != 2) return;
    const Node& left = program_.nodes[node.first];
    const Node& right = program_.nodes[node.first + 1];
    auto is_slot = [](const Node& n) { return n.op == Op::var_slot && n.argc == 1; };
    bool slot_left = is_slot(left) && right.op == Op::literal;
    bool slot_right = is_slot(right) && left.op == Op::literal && node.op != Op::in;
    if (!slot_left && !slot_right) return;
    Op fused;
    switch (node.op) {
      case Op::eq:
        fused = Op::eq_slot;
        break;
      case Op::ne:
        fused = Op::ne_slot;
        break;
      case Op::strict_eq:
        fused = Op::strict_eq_slot;
        break;
      case Op::strict_ne:
        fused = Op::strict_ne_slot;
        break;
      // With the constant first, swap the operands: 50 < x is x > 50.
      case Op::lt:
        fused = slot_left ? Op::lt_slot : Op::gt_slot;
        break;
      case Op::le:
        fused = slot_left ? Op::le_slot : Op::ge_slot;
        break;
      case Op::gt:
        fused = slot_left ? Op::gt_slot : Op::lt_slot;
        break;
      case Op::ge:
        fused = slot_left ? Op::ge_slot : Op::le_slot;
        break;
      case Op::in:
        fused = Op::in_slot;
        break;
      default:
        return;
    }
    const Node& var = slot_left ? left : right;
    node.aux = var.aux;
    node.aux2 = var.aux2;
    node.constant = (slot_left ? right : left).constant;
    node.op = fused;
    // The operands were the last nodes added; they are no longer referenced.
    program_.nodes.resize(node.first);
    node.argc = 0;
    node.first = 0;
  }

  void compile_var(Node& node, bool scoped) {
    if (node.argc == 0) {
      node.aux = add_path("", true);
      return;
    }
    const Node& path = program_.nodes[node.first];
    if (path.op != Op::literal) {
      node.op = Op::var_dynamic;
      return;
    }
    const Value& v = path.constant;
    if (v.is_null() || (v.is_string() && v.size() == 0)) {
      node.aux = add_path("", true);
      return;
    }
    detail::Scratch scratch{Limits{}};
    std::string text(detail::to_string(v, scratch));
    node.aux = add_path(text, false);
    if (!scoped) {
      node.op = Op::var_slot;
      node.aux2 = layout_.slot(text);
    }
  }

  std::uint32_t add_path(std::string text, bool whole) {
    program_.paths.emplace_back(std::move(text), whole);
    return static_cast<std::uint32_t>(program_.paths.size() - 1);
  }

  // Loyalty operators take literal arguments only, so that the history they need is known
  // at compile time.
  void compile_loyalty(std::uint32_t at, const OperatorSpec& spec,
                       const std::vector<const json*>& args, bool bare) {
    Node node;
    node.op = spec.op;
    std::string_view op = spec.info.name;
    bool ok = true;
    auto at_arg = [&](std::size_t i) {
      std::string pointer = pointer_;
      if (!bare) detail::append_pointer_index(pointer, i);
      return pointer;
    };
    auto fail = [&](std::size_t i, std::string message) {
      errors.push_back({at_arg(i), in_quotes(op) + ": " + std::move(message)});
      ok = false;
    };
    auto text = [&](std::size_t i, std::string_view what, std::size_t max_len) -> std::string {
      const json& a = *args[i];
      if (!a.is_string() || a.get_ref<const std::string&>().empty()) {
        fail(i, std::string(what) + " must be a non-empty string");
        return {};
      }
      if (a.get_ref<const std::string&>().size() > max_len) {
        fail(i, std::string(what) + " must be at most " + std::to_string(max_len) + " bytes");
        return {};
      }
      return a.get<std::string>();
    };
    auto days = [&](std::size_t i, std::int64_t min, std::int64_t max) -> std::uint32_t {
      auto n = integral(*args[i]);
      if (!n || *n < min || *n > max) {
        fail(i, "DAYS must be a whole number from " + std::to_string(min) + " to " +
                    std::to_string(max));
        return 0;
      }
      return static_cast<std::uint32_t>(*n);
    };
    auto need = [&](HistoryKind kind, std::string subject = {}, int window = 0) {
      program_.requirements.push_back({kind, std::move(subject), window});
    };
    auto keep = [&](const std::string& s) {
      node.constant = Value::string(program_.constants.copy(s));
    };

    switch (spec.op) {
      case Op::event_count: {
        std::string type = text(0, "EVENT_TYPE", 64);
        node.aux = days(1, 1, 3650);
        if (!ok) break;
        keep(type);
        need(HistoryKind::event_count, type, static_cast<int>(node.aux));
        break;
      }
      case Op::purchase_total: {
        node.aux = days(0, 1, 3650);
        std::string currency;
        if (args.size() == 2) {
          const json& c = *args[1];
          bool valid = c.is_string() && c.get_ref<const std::string&>().size() == 3 &&
                       std::all_of(c.get_ref<const std::string&>().begin(),
                                   c.get_ref<const std::string&>().end(),
                                   [](char ch) { return ch >= 'A' && ch <= 'Z'; });
          if (!valid)
            fail(1, "CURRENCY must be a three-letter ISO 4217 code such as \"USD\"");
          else
            currency = c.get<std::string>();
        }
        if (!ok) break;
        keep(currency);
        need(HistoryKind::purchase_total, currency, static_cast<int>(node.aux));
        break;
      }
      case Op::days_since_last:
      case Op::visit_number: {
        std::string type = text(0, "EVENT_TYPE", 64);
        if (!ok) break;
        keep(type);
        if (spec.op == Op::days_since_last) {
          need(HistoryKind::last_event_date, type);
          need(HistoryKind::local_time);
        } else {
          need(HistoryKind::visit_number, type);
        }
        break;
      }
      case Op::birthday_within:
        node.aux = days(0, 0, 366);
        if (!ok) break;
        need(HistoryKind::birthday);
        need(HistoryKind::local_time);
        break;
      case Op::weekday_in: {
        std::vector<std::pair<const json*, std::string>> names;  // each with its pointer
        if (args.size() == 1 && args[0]->is_array()) {
          if (args[0]->empty() || args[0]->size() > 7) {
            fail(0, "give one to seven weekdays");
            break;
          }
          for (std::size_t i = 0; i < args[0]->size(); ++i) {
            std::string pointer = at_arg(0);
            detail::append_pointer_index(pointer, i);
            names.emplace_back(&(*args[0])[i], pointer);
          }
        } else {
          for (std::size_t i = 0; i < args.size(); ++i) names.emplace_back(args[i], at_arg(i));
        }
        for (const auto& [name, pointer] : names) {
          std::optional<unsigned> day;
          if (name->is_string()) day = parse_weekday(name->get_ref<const std::string&>());
          if (!day) {
            errors.push_back({pointer, in_quotes(op) + ": a weekday is one of mon, tue, wed, thu, "
                                                       "fri, sat, sun (or the full name)"});
            ok = false;
            continue;
          }
          node.aux |= 1u << *day;
        }
        if (ok) need(HistoryKind::local_time);
        break;
      }
      case Op::local_time_between: {
        std::optional<std::uint32_t> times[2];
        for (std::size_t i = 0; i < 2; ++i) {
          if (args[i]->is_string()) {
            times[i] = parse_clock(args[i]->get_ref<const std::string&>(), i == 1);
          }
          if (!times[i]) {
            fail(i, std::string(i == 0 ? "START" : "END") +
                        " must be a local time \"HH:MM\" or \"HH:MM:SS\"" +
                        (i == 1 ? " (or \"24:00\")" : ""));
          }
        }
        if (ok && *times[0] == *times[1]) fail(1, "START and END must differ");
        if (!ok) break;
        node.aux = *times[0];
        node.aux2 = *times[1];
        need(HistoryKind::local_time);
        break;
      }
      case Op::has_tag:
      case Op::in_segment: {
        bool tag = spec.op == Op::has_tag;
        std::string name = text(0, tag ? "TAG" : "SEGMENT", 128);
        if (!ok) break;
        keep(name);
        need(tag ? HistoryKind::tag : HistoryKind::segment, name);
        break;
      }
      case Op::days_since_enrolment:
        need(HistoryKind::enrolment_date);
        need(HistoryKind::local_time);
        break;
      default:
        break;
    }
    if (ok) program_.nodes[at] = node;
  }

  Program::Impl& program_;
  DataLayout& layout_;
  const Limits& limits_;
  std::string pointer_;
  std::string root_;
  std::size_t nodes_ = 0;
  bool stopped_ = false;
};

}  // namespace

DataLayout::DataLayout() : impl_(std::make_unique<Impl>()) {}
DataLayout::~DataLayout() = default;

std::uint32_t DataLayout::slot(std::string_view dotted_path) {
  auto it = impl_->slots.find(dotted_path);
  if (it != impl_->slots.end()) return it->second;
  const auto& path = impl_->paths.emplace_back(std::string(dotted_path), false);
  auto slot = static_cast<std::uint32_t>(impl_->paths.size() - 1);
  impl_->slots.emplace(path.text, slot);
  return slot;
}

std::size_t DataLayout::size() const noexcept { return impl_->paths.size(); }

std::string_view DataLayout::path(std::uint32_t slot) const { return impl_->paths.at(slot).text; }

Program::Program(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Program::Program(Program&&) noexcept = default;
Program& Program::operator=(Program&&) noexcept = default;
Program::~Program() = default;

const std::vector<HistoryRequirement>& Program::requirements() const noexcept {
  return impl_->requirements;
}

const std::shared_ptr<DataLayout>& Program::layout() const noexcept { return impl_->layout; }

Program compile(const nlohmann::json& logic, std::shared_ptr<DataLayout> layout,
                const Limits& limits) {
  if (!layout) layout = std::make_shared<DataLayout>();
  auto impl = std::make_unique<Program::Impl>();
  impl->layout = layout;
  Compiler compiler(*impl, *layout, limits, "");
  compiler.compile_root(logic);
  if (!compiler.errors.empty()) {
    std::string detail = detail::summarize("invalid rule", compiler.errors);
    throw_invalid(std::move(detail), std::move(compiler.errors));
  }
  return Program(std::move(impl));
}

std::vector<FieldError> check_logic(const nlohmann::json& logic, std::string_view pointer_prefix,
                                    const Limits& limits) {
  Program::Impl impl;
  DataLayout layout;
  Compiler compiler(impl, layout, limits, pointer_prefix);
  compiler.compile_root(logic);
  return std::move(compiler.errors);
}

std::span<const OperatorInfo> operators() noexcept {
  static const std::vector<OperatorInfo> infos = [] {
    std::vector<OperatorInfo> out;
    for (const auto& spec : kOperatorSpecs) out.push_back(spec.info);
    return out;
  }();
  return infos;
}

}  // namespace loyalty::rules
