// The evaluator: a switch over compiled nodes, reading root `var`s from the prepared data's
// slots. Values built here (arrays, strings) go to the evaluator's scratch arena, which is reused
// from one evaluation to the next, so a steady workload allocates nothing.
#include <loyalty/rules/engine.hpp>

#include "internal.hpp"
#include "js.hpp"

#include <chrono>
#include <cmath>
#include <limits>

namespace loyalty::rules {

struct Evaluator::Impl {
  explicit Impl(const Limits& limits) : scratch(limits) {}
  detail::Scratch scratch;
  std::function<void(const Value&)> log_sink;
};

namespace {

using detail::Node;
using detail::Op;
using detail::Scratch;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfinity = std::numeric_limits<double>::infinity();

// JavaScript's ToIntegerOrInfinity.
double to_integer(double d) { return std::isnan(d) ? 0 : std::trunc(d); }

class Run {
 public:
  Run(const Program::Impl& program, const PreparedData::Impl& data, HistoryProvider* history,
      Evaluator::Impl& evaluator)
      : nodes_(program.nodes.data()),
        paths_(program.paths),
        root_(data.root),
        history_(history),
        s_(evaluator.scratch),
        log_(evaluator.log_sink) {
    if (data.layout.get() == program.layout.get()) {
      slots_ = data.slots.data();
      slot_count_ = static_cast<std::uint32_t>(data.slots.size());
    }
  }

  // Whether node `index` evaluates to a truthy value: truthy(eval(index, scope)), with boolean
  // operators and fused comparisons answered without building values.
  //
  // Work is bounded without counting every node: a rule has at most Limits::max_nodes nodes,
  // so only loops (charged per element with the size of their logic), scans of data and string
  // conversions count against the step budget.
  bool test(std::uint32_t index, const Value& scope) {
    const Node& n = nodes_[index];
    Op op = n.op;
    if (is_slot_comparison(op)) return compare_slot(n);
    if (op == Op::and_ || op == Op::or_) {
      // `and` is decided by the first falsy operand, `or` by the first truthy one.
      bool decisive = op == Op::or_;
      for (std::uint32_t i = 0; i < n.argc; ++i) {
        const Node& operand = nodes_[n.first + i];
        bool value =
            is_slot_comparison(operand.op) ? compare_slot(operand) : test(n.first + i, scope);
        if (value == decisive) return decisive;
      }
      return !decisive && n.argc > 0;
    }
    if (op == Op::not_ || op == Op::to_bool) return test(n.first, scope) == (op == Op::to_bool);
    return truthy(eval(index, scope));
  }

  Value eval(std::uint32_t index, const Value& scope) {
    const Node& n = nodes_[index];
    switch (n.op) {
      case Op::literal:
        return n.constant;
      case Op::array:
        return build_array(n, scope);
      case Op::var_slot:
        return var_result(
            n, n.aux2 < slot_count_ ? slots_[n.aux2] : detail::resolve(root_, paths_[n.aux]),
            scope);
      case Op::var_path:
        return var_result(n, detail::resolve(scope, paths_[n.aux]), scope);
      case Op::eq_slot:
      case Op::ne_slot:
      case Op::strict_eq_slot:
      case Op::strict_ne_slot:
      case Op::lt_slot:
      case Op::le_slot:
      case Op::gt_slot:
      case Op::ge_slot:
      case Op::in_slot:
        return Value::boolean(compare_slot(n));
      case Op::var_dynamic: {
        Value path = eval(n.first, scope);
        if (path.is_nullish() || (path.is_string() && path.size() == 0)) {
          return var_result(n, scope, scope);
        }
        return var_result(n, detail::resolve(scope, detail::to_string(path, s_)), scope);
      }
      case Op::missing:
        return missing(n, scope);
      case Op::missing_some:
        return missing_some(n, scope);
      case Op::if_: {
        std::uint32_t i = 0;
        for (; i + 1 < n.argc; i += 2) {
          if (test(n.first + i, scope)) return eval_operand(n.first + i + 1, scope);
        }
        return i + 1 == n.argc ? eval_operand(n.first + i, scope) : Value();
      }
      case Op::and_: {
        Value current = Value::undefined();
        for (std::uint32_t i = 0; i < n.argc; ++i) {
          current = eval_operand(n.first + i, scope);
          if (!truthy(current)) return current;
        }
        return current;
      }
      case Op::or_: {
        Value current = Value::undefined();
        for (std::uint32_t i = 0; i < n.argc; ++i) {
          current = eval_operand(n.first + i, scope);
          if (truthy(current)) return current;
        }
        return current;
      }
      case Op::not_:
        return Value::boolean(!test(n.first, scope));
      case Op::to_bool:
        return Value::boolean(test(n.first, scope));
      case Op::eq:
        return Value::boolean(equals(arg(n, 0, scope), arg(n, 1, scope)));
      case Op::ne:
        return Value::boolean(!equals(arg(n, 0, scope), arg(n, 1, scope)));
      case Op::strict_eq:
        return Value::boolean(detail::strict_equals(arg(n, 0, scope), arg(n, 1, scope)));
      case Op::strict_ne:
        return Value::boolean(!detail::strict_equals(arg(n, 0, scope), arg(n, 1, scope)));
      case Op::gt: {
        Value a = arg(n, 0, scope);
        Value b = arg(n, 1, scope);
        return Value::boolean(less(b, a));
      }
      case Op::ge: {
        Value a = arg(n, 0, scope);
        Value b = arg(n, 1, scope);
        return Value::boolean(less_or_equal(b, a));
      }
      case Op::lt:
      case Op::le: {
        Value a = arg(n, 0, scope);
        Value b = arg(n, 1, scope);
        Value c = arg(n, 2, scope);
        bool strict = n.op == Op::lt;
        bool result = strict ? less(a, b) : less_or_equal(a, b);
        if (!c.is_undefined()) result = result && (strict ? less(b, c) : less_or_equal(b, c));
        return Value::boolean(result);
      }
      case Op::add: {
        double sum = 0;
        for (std::uint32_t i = 0; i < n.argc; ++i)
          sum += detail::parse_float(eval(n.first + i, scope));
        return Value::number(sum);
      }
      case Op::mul: {
        // [].reduce without an initial value: one argument comes back as it is.
        Value first = eval(n.first, scope);
        if (n.argc == 1) return first;
        double product = detail::parse_float(first);
        for (std::uint32_t i = 1; i < n.argc; ++i) {
          product *= detail::parse_float(eval(n.first + i, scope));
        }
        return Value::number(product);
      }
      case Op::sub: {
        Value a = arg(n, 0, scope);
        Value b = arg(n, 1, scope);
        if (b.is_undefined()) return Value::number(-detail::to_number(a));
        return Value::number(detail::to_number(a) - detail::to_number(b));
      }
      case Op::div: {
        Value a = arg(n, 0, scope);
        Value b = arg(n, 1, scope);
        return Value::number(detail::to_number(a) / detail::to_number(b));
      }
      case Op::mod: {
        Value a = arg(n, 0, scope);
        Value b = arg(n, 1, scope);
        return Value::number(std::fmod(detail::to_number(a), detail::to_number(b)));
      }
      case Op::min:
      case Op::max: {
        bool is_min = n.op == Op::min;
        double result = is_min ? kInfinity : -kInfinity;
        for (std::uint32_t i = 0; i < n.argc; ++i) {
          double x = detail::to_number(eval(n.first + i, scope));
          if (std::isnan(x) || std::isnan(result))
            result = kNaN;
          else
            result = is_min ? std::min(result, x) : std::max(result, x);
        }
        return Value::number(result);
      }
      case Op::in: {
        Value a = arg(n, 0, scope);
        Value b = arg(n, 1, scope);
        if (!charge(b.size())) return Value();
        return Value::boolean(contains(b, a));
      }
      case Op::cat:
        return cat(n, scope);
      case Op::substr:
        return substr(n, scope);
      case Op::merge:
        return merge(n, scope);
      case Op::log: {
        Value v = arg(n, 0, scope);
        if (log_ && !s_.failed()) log_(v);
        return v;
      }
      case Op::map:
      case Op::filter:
        return map_or_filter(n, scope);
      case Op::reduce:
        return reduce(n, scope);
      case Op::all:
      case Op::some:
      case Op::none:
        return quantifier(n, scope);
      default:
        return loyalty(n);
    }
  }

 private:
  Value arg(const Node& n, std::uint32_t i, const Value& scope) {
    return i < n.argc ? eval_operand(n.first + i, scope) : Value::undefined();
  }

  static bool is_slot_comparison(Op op) { return op >= Op::eq_slot && op <= Op::in_slot; }

  // eval, with the fused comparisons that conditions are mostly made of answered here, without
  // the cost of a full dispatch.
  Value eval_operand(std::uint32_t index, const Value& scope) {
    const Node& n = nodes_[index];
    if (!is_slot_comparison(n.op)) return eval(index, scope);
    return Value::boolean(compare_slot(n));
  }

  // A fused comparison. Numbers against numbers and strings against strings are answered
  // inline; everything else goes through JavaScript's coercions.
  [[gnu::always_inline]] inline bool compare_slot(const Node& n) {
    const Value& v = n.aux2 < slot_count_ ? slots_[n.aux2] : resolve_slot(n);
    const Value& c = n.constant;
    Op op = n.op;
    if (op == Op::in_slot) {
      if (v.is_string() && c.is_array()) {
        std::string_view text = v.as_string();
        for (const Value& item : c.as_array()) {
          if (item.is_string() && detail::same_text(item.as_string(), text)) return true;
        }
        return false;
      }
      return compare_slow(op, v, c);
    }
    if (v.is_number() && c.is_number()) {
      double a = v.as_number();
      double b = c.as_number();
      switch (op) {
        case Op::eq_slot:
        case Op::strict_eq_slot:
          return a == b;
        case Op::ne_slot:
        case Op::strict_ne_slot:
          return a != b;
        case Op::lt_slot:
          return a < b;
        case Op::le_slot:
          return a <= b;
        case Op::gt_slot:
          return a > b;
        default:
          return a >= b;
      }
    }
    if (v.is_string() && c.is_string() && op <= Op::strict_ne_slot) {
      bool same = detail::same_text(v.as_string(), c.as_string());
      return (op == Op::eq_slot || op == Op::strict_eq_slot) ? same : !same;
    }
    return compare_slow(op, v, c);
  }

  // The slot's value when the data was prepared for another layout.
  const Value& resolve_slot(const Node& n) {
    resolved_ = detail::resolve(root_, paths_[n.aux]);
    return resolved_;
  }

  [[gnu::noinline]] bool compare_slow(Op op, const Value& found, const Value& c) {
    Value v = found.is_undefined() ? Value() : found;  // var gives null for an absent path
    switch (op) {
      case Op::eq_slot:
        return equals(v, c);
      case Op::ne_slot:
        return !equals(v, c);
      case Op::strict_eq_slot:
        return detail::strict_equals(v, c);
      case Op::strict_ne_slot:
        return !detail::strict_equals(v, c);
      case Op::lt_slot:
        return less(v, c);
      case Op::le_slot:
        return less_or_equal(v, c);
      case Op::gt_slot:
        return less(c, v);
      case Op::ge_slot:
        return less_or_equal(c, v);
      case Op::in_slot:
        return contains(c, v);
      default:
        return false;
    }
  }

  // Counts `n` steps of work; false (and the evaluation stops) once the budget is spent.
  bool charge(std::uint64_t n) {
    s_.steps += n;
    if (s_.steps <= s_.budget) return true;
    s_.fail(Outcome::too_many_steps);
    return false;
  }

  // `in`: a substring of a string, or an element (===) of an array.
  bool contains(const Value& haystack, const Value& needle) {
    if (haystack.is_array()) {
      if (needle.is_string()) {
        std::string_view text = needle.as_string();
        for (const Value& item : haystack.as_array()) {
          if (item.is_string() && detail::same_text(item.as_string(), text)) return true;
        }
        return false;
      }
      for (const Value& item : haystack.as_array()) {
        if (detail::strict_equals(item, needle)) return true;
      }
      return false;
    }
    if (haystack.is_string() && haystack.size() > 0) {
      return haystack.as_string().find(detail::to_string(needle, s_)) != std::string_view::npos;
    }
    return false;
  }

  Value var_result(const Node& n, const Value& found, const Value& scope) {
    if (!found.is_undefined()) return found;
    return n.argc >= 2 ? eval(n.first + 1, scope) : Value();
  }

  bool equals(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) return a.as_number() == b.as_number();
    if (a.is_string() && b.is_string()) return detail::same_text(a.as_string(), b.as_string());
    return detail::loose_equals(a, b, s_);
  }

  bool less(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) return a.as_number() < b.as_number();
    return detail::less_than(a, b, s_).value_or(false);
  }

  // a <= b is !(b < a), except that an undefined comparison (NaN) is false.
  bool less_or_equal(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) return a.as_number() <= b.as_number();
    auto greater = detail::less_than(b, a, s_);
    return greater.has_value() && !*greater;
  }

  Value* allocate(std::uint32_t count) {
    Value* items = s_.arena.allocate_array<Value>(count);
    if (!items) s_.fail(Outcome::too_much_memory);
    return items;
  }

  Value make_array(Value* items, std::uint32_t count) {
    std::uint16_t depth = 0;
    for (std::uint32_t i = 0; i < count; ++i) depth = std::max(depth, items[i].depth());
    if (depth + 1 > s_.max_depth) {
      s_.fail(Outcome::too_deep);
      return Value();
    }
    return Value::array(items, count, static_cast<std::uint16_t>(depth + 1));
  }

  // Evaluates all arguments into scratch memory.
  Value* evaluate_arguments(const Node& n, const Value& scope) {
    Value* values = allocate(n.argc);
    if (!values) return nullptr;
    for (std::uint32_t i = 0; i < n.argc; ++i) values[i] = eval(n.first + i, scope);
    return values;
  }

  Value build_array(const Node& n, const Value& scope) {
    Value* items = evaluate_arguments(n, scope);
    return items ? make_array(items, n.argc) : Value();
  }

  Value cat(const Node& n, const Value& scope) {
    Value* parts = evaluate_arguments(n, scope);
    if (!parts) return Value();
    // Array.prototype.join: null and undefined become "".
    s_.text.clear();
    for (std::uint32_t i = 0; i < n.argc && !s_.failed(); ++i) {
      if (!parts[i].is_nullish()) detail::append_string(parts[i], s_);
    }
    if (s_.failed()) return Value();
    std::string_view text = s_.arena.copy(s_.text);
    if (!text.data()) {
      s_.fail(Outcome::too_much_memory);
      return Value();
    }
    return Value::string(text);
  }

  // String.prototype.substr, counting code points; json-logic-js turns a negative length into
  // "stop that many characters before the end".
  Value substr(const Node& n, const Value& scope) {
    Value source = arg(n, 0, scope);
    Value start_value = arg(n, 1, scope);
    Value end_value = arg(n, 2, scope);
    std::string_view text = detail::to_string(source, s_);
    auto size = static_cast<double>(detail::code_point_count(text));
    double start = to_integer(detail::to_number(start_value));
    start = start < 0 ? std::max(size + start, 0.0) : std::min(start, size);
    double length = size - start;
    if (!end_value.is_undefined()) {
      double end = detail::to_number(end_value);
      if (end < 0) {
        length = std::max(to_integer(length + end), 0.0);
      } else {
        length = std::clamp(to_integer(end), 0.0, size - start);
      }
    }
    std::size_t begin = detail::code_point_offset(text, static_cast<std::size_t>(start));
    std::string_view rest = text.substr(begin);
    std::size_t bytes = detail::code_point_offset(rest, static_cast<std::size_t>(length));
    return Value::string(rest.substr(0, bytes));
  }

  Value merge(const Node& n, const Value& scope) {
    Value* parts = evaluate_arguments(n, scope);
    if (!parts) return Value();
    std::uint64_t total = 0;
    for (std::uint32_t i = 0; i < n.argc; ++i) total += parts[i].is_array() ? parts[i].size() : 1;
    if (total > std::numeric_limits<std::uint32_t>::max()) {
      s_.fail(Outcome::too_much_memory);
      return Value();
    }
    if (!charge(total)) return Value();
    Value* items = allocate(static_cast<std::uint32_t>(total));
    if (!items) return Value();
    std::uint32_t k = 0;
    for (std::uint32_t i = 0; i < n.argc; ++i) {
      if (parts[i].is_array()) {
        for (const Value& item : parts[i].as_array()) items[k++] = item;
      } else {
        items[k++] = parts[i];
      }
    }
    return make_array(items, k);
  }

  // The keys (given as arguments, or as one array argument) whose var is null, absent or "".
  Value missing_of(const Value* keys, std::uint32_t count, const Value& scope) {
    Value* out = allocate(count);
    if (!out) return Value();
    std::uint32_t k = 0;
    if (!charge(count)) return Value();
    for (std::uint32_t i = 0; i < count; ++i) {
      const Value& key = keys[i];
      Value found;
      if (key.is_nullish() || (key.is_string() && key.size() == 0)) {
        found = scope;
      } else {
        found = detail::resolve(scope, detail::to_string(key, s_));
      }
      if (found.is_nullish() || (found.is_string() && found.size() == 0)) out[k++] = key;
    }
    return make_array(out, k);
  }

  Value missing(const Node& n, const Value& scope) {
    Value* args = evaluate_arguments(n, scope);
    if (!args) return Value();
    if (n.argc > 0 && args[0].is_array()) {
      auto keys = args[0].as_array();
      return missing_of(keys.data(), static_cast<std::uint32_t>(keys.size()), scope);
    }
    return missing_of(args, n.argc, scope);
  }

  Value missing_some(const Node& n, const Value& scope) {
    Value need = eval(n.first, scope);
    Value options = eval(n.first + 1, scope);
    Value absent = options.is_array() ? missing_of(options.as_array().data(), options.size(), scope)
                                      : missing_of(&options, 1, scope);
    if (s_.failed()) return Value();
    // options.length - are_missing.length >= need_count
    double present =
        options.is_array() ? static_cast<double>(options.size()) - absent.size() : kNaN;
    if (less_or_equal(need, Value::number(present))) return make_array(allocate(0), 0);
    return absent;
  }

  Value map_or_filter(const Node& n, const Value& scope) {
    Value data = eval(n.first, scope);
    std::uint32_t count = data.is_array() ? data.size() : 0;
    Value* out = allocate(count);
    if (!out) return Value();
    if (n.op == Op::map) {
      for (std::uint32_t i = 0; i < count; ++i) {
        if (!charge(n.aux)) return Value();
        out[i] = eval(n.first + 1, data.as_array()[i]);
      }
      return make_array(out, count);
    }
    std::uint32_t k = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
      if (!charge(n.aux)) return Value();
      const Value& item = data.as_array()[i];
      if (test(n.first + 1, item)) out[k++] = item;
    }
    return make_array(out, k);
  }

  Value reduce(const Node& n, const Value& scope) {
    Value data = eval(n.first, scope);
    Value accumulator = n.argc >= 3 ? eval(n.first + 2, scope) : Value();
    if (!data.is_array()) return accumulator;
    for (const Value& current : data.as_array()) {
      if (!charge(n.aux)) return Value();
      auto* members = s_.arena.allocate_array<Member>(2);
      if (!members) {
        s_.fail(Outcome::too_much_memory);
        return Value();
      }
      members[0] = Member{"accumulator", accumulator};  // sorted by key
      members[1] = Member{"current", current};
      auto depth = static_cast<std::uint16_t>(std::max(accumulator.depth(), current.depth()) + 1);
      if (depth > s_.max_depth) {
        s_.fail(Outcome::too_deep);
        return Value();
      }
      accumulator = eval(n.first + 1, Value::object(members, 2, depth));
      if (s_.failed()) return Value();
    }
    return accumulator;
  }

  Value quantifier(const Node& n, const Value& scope) {
    Value data = eval(n.first, scope);
    std::span<const Value> items;
    if (data.is_array()) items = data.as_array();
    if (n.op == Op::all) {
      if (items.empty()) return Value::boolean(false);
      for (const Value& item : items) {
        if (!charge(n.aux)) return Value();
        if (!test(n.first + 1, item)) return Value::boolean(false);
      }
      return Value::boolean(true);
    }
    bool found = false;
    for (const Value& item : items) {
      if (!charge(n.aux)) return Value();
      if (test(n.first + 1, item)) {
        found = true;
        break;
      }
    }
    return Value::boolean(n.op == Op::some ? found : !found);
  }

  const std::optional<LocalDateTime>& clock() {
    if (!clock_) clock_ = history_->local_time();
    return *clock_;
  }

  static Value days_between(std::chrono::year_month_day from, std::chrono::year_month_day to) {
    if (!from.ok() || !to.ok()) return Value();
    return Value::number(
        static_cast<double>((std::chrono::sys_days(to) - std::chrono::sys_days(from)).count()));
  }

  Value loyalty(const Node& n) {
    if (!history_) return Value();
    std::string_view subject = n.constant.is_string() ? n.constant.as_string() : std::string_view();
    switch (n.op) {
      case Op::event_count:
        return Value::number(
            static_cast<double>(history_->event_count(subject, static_cast<int>(n.aux))));
      case Op::purchase_total:
        return Value::number(history_->purchase_total(static_cast<int>(n.aux), subject));
      case Op::visit_number:
        return Value::number(static_cast<double>(history_->visit_number(subject)));
      case Op::has_tag:
        return Value::boolean(history_->has_tag(subject));
      case Op::in_segment:
        return Value::boolean(history_->in_segment(subject));
      default:
        break;
    }
    const auto& now = clock();
    if (!now || !now->date.ok()) return Value();
    switch (n.op) {
      case Op::days_since_last: {
        auto last = history_->last_event_date(subject);
        return last ? days_between(*last, now->date) : Value();
      }
      case Op::days_since_enrolment: {
        auto enrolled = history_->enrolment_date();
        return enrolled ? days_between(*enrolled, now->date) : Value();
      }
      case Op::birthday_within: {
        auto birthday = history_->birthday();
        if (!birthday || !birthday->ok()) return Value();
        return Value::boolean(days_until_birthday(*birthday, now->date) <= static_cast<int>(n.aux));
      }
      case Op::weekday_in: {
        std::chrono::weekday day{std::chrono::sys_days(now->date)};
        return Value::boolean((n.aux & (1u << day.iso_encoding())) != 0);
      }
      case Op::local_time_between: {
        auto t = static_cast<std::uint32_t>(now->time_of_day.count());
        std::uint32_t start = n.aux;
        std::uint32_t end = n.aux2;
        return Value::boolean(start < end ? (t >= start && t < end) : (t >= start || t < end));
      }
      default:
        return Value();
    }
  }

  const Node* nodes_;
  const std::deque<detail::Path>& paths_;
  const Value* slots_ = nullptr;
  std::uint32_t slot_count_ = 0;
  Value root_;
  HistoryProvider* history_;
  Scratch& s_;
  const std::function<void(const Value&)>& log_;
  std::optional<std::optional<LocalDateTime>> clock_;
  Value resolved_;
};

}  // namespace

PreparedData::PreparedData(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PreparedData::PreparedData(PreparedData&&) noexcept = default;
PreparedData& PreparedData::operator=(PreparedData&&) noexcept = default;
PreparedData::~PreparedData() = default;

const Value& PreparedData::root() const noexcept { return impl_->root; }

PreparedData prepare(const nlohmann::json& data, std::shared_ptr<const DataLayout> layout,
                     const Limits& limits) {
  auto impl = std::make_unique<PreparedData::Impl>();
  detail::Importer importer{impl->arena, limits, 0, std::nullopt};
  std::string pointer;
  impl->root = importer.import(data, 0, pointer);
  if (importer.error) {
    throw_invalid("the data exceeds the limits: " + importer.error->message,
                  {std::move(*importer.error)});
  }
  if (layout) {
    const auto& paths = layout->impl().paths;
    impl->slots.reserve(paths.size());
    for (const auto& path : paths) impl->slots.push_back(detail::resolve(impl->root, path));
  }
  impl->layout = std::move(layout);
  return PreparedData(std::move(impl));
}

std::string describe(Outcome outcome, const Limits& limits) {
  switch (outcome) {
    case Outcome::ok:
      return "ok";
    case Outcome::too_many_steps:
      return "the evaluation took more than " + std::to_string(limits.max_eval_steps) + " steps";
    case Outcome::too_much_memory:
      return "the evaluation built more than " + std::to_string(limits.max_eval_bytes) +
             " bytes of values";
    case Outcome::too_deep:
      return "the evaluation built a value nested deeper than " +
             std::to_string(limits.max_value_depth) + " levels";
  }
  return "unknown outcome";
}

Evaluator::Evaluator(const Limits& limits) : impl_(std::make_unique<Impl>(limits)) {}
Evaluator::~Evaluator() = default;

Value Evaluator::evaluate(const Program& program, const PreparedData& data,
                          HistoryProvider* history) {
  Scratch& scratch = impl_->scratch;
  scratch.start();
  Run run(program.impl(), data.impl(), history, *impl_);
  // A rule whose value can only be true or false (the usual case) takes the faster path.
  Value result = program.impl().boolean_result ? Value::boolean(run.test(0, data.root()))
                                               : run.eval(0, data.root());
  if (scratch.failed() || result.is_undefined()) return Value();
  return result;
}

bool Evaluator::matches(const Program& program, const PreparedData& data,
                        HistoryProvider* history) {
  Scratch& scratch = impl_->scratch;
  scratch.start();
  Run run(program.impl(), data.impl(), history, *impl_);
  bool result = run.test(0, data.root());
  return result && !scratch.failed();
}

Outcome Evaluator::outcome() const noexcept { return impl_->scratch.outcome; }

void Evaluator::set_log_sink(std::function<void(const Value&)> sink) {
  impl_->log_sink = std::move(sink);
}

RuleSet::RuleSet() : layout_(std::make_shared<DataLayout>()) {}
RuleSet::~RuleSet() = default;
RuleSet::RuleSet(RuleSet&&) noexcept = default;
RuleSet& RuleSet::operator=(RuleSet&&) noexcept = default;

std::size_t RuleSet::add(const nlohmann::json& conditions, const Limits& limits) {
  programs_.push_back(compile(conditions, layout_, limits));
  return programs_.size() - 1;
}

PreparedData RuleSet::prepare(const nlohmann::json& data, const Limits& limits) const {
  return rules::prepare(data, layout_, limits);
}

std::vector<HistoryRequirement> RuleSet::requirements() const {
  std::vector<HistoryRequirement> all;
  for (const auto& program : programs_) {
    all.insert(all.end(), program.requirements().begin(), program.requirements().end());
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

nlohmann::json apply(const nlohmann::json& logic, const nlohmann::json& data,
                     HistoryProvider* history,
                     const std::function<void(const nlohmann::json&)>& on_log) {
  Program program = compile(logic);
  PreparedData prepared = prepare(data, program.layout());
  Limits limits = Limits::for_rules();
  Evaluator evaluator(limits);
  if (on_log) evaluator.set_log_sink([&](const Value& v) { on_log(to_json(v)); });
  Value result = evaluator.evaluate(program, prepared, history);
  if (evaluator.outcome() != Outcome::ok) {
    throw_invalid(describe(evaluator.outcome(), limits));
  }
  return to_json(result);
}

BenchResult bench(const nlohmann::json& logic, const nlohmann::json& data,
                  std::uint64_t iterations) {
  if (iterations == 0) throw_invalid("iterations must be at least 1");
  Program program = compile(logic);
  PreparedData prepared = prepare(data, program.layout());
  Limits limits = Limits::for_rules();
  Evaluator evaluator(limits);
  Value result = evaluator.evaluate(program, prepared);  // warm the scratch memory
  if (evaluator.outcome() != Outcome::ok) throw_invalid(describe(evaluator.outcome(), limits));
  auto start = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < iterations; ++i) result = evaluator.evaluate(program, prepared);
  auto elapsed = std::chrono::steady_clock::now() - start;
  BenchResult out;
  out.iterations = iterations;
  out.ns_per_eval =
      static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) /
      static_cast<double>(iterations);
  out.result = to_json(result);
  return out;
}

}  // namespace loyalty::rules
