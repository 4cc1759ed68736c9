#pragma once
// The engine's private representation: compiled nodes, paths, the storage behind programs,
// layouts and prepared data, and the JavaScript semantics shared by compiler and evaluator.

#include <loyalty/rules/engine.hpp>

#include "arena.hpp"

#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace loyalty::rules::detail {

enum class Op : std::uint8_t {
  literal,      // constant
  array,        // an array literal with logic inside: evaluate each element
  var_slot,     // var with a constant path, read from the root: a layout slot
  var_path,     // var with a constant path, read from the current scope
  var_dynamic,  // var whose path is computed
  // Comparisons of a root var (a slot) with a constant, fused into one node: the common shape of
  // conditions ({">=": [{"var": "event.amount"}, 50]}), evaluated without dispatching to the
  // operands. The constant is in `constant`, the slot as in var_slot.
  eq_slot,
  ne_slot,
  strict_eq_slot,
  strict_ne_slot,
  lt_slot,
  le_slot,
  gt_slot,
  ge_slot,
  in_slot,
  missing,
  missing_some,
  if_,
  and_,
  or_,
  not_,
  to_bool,
  eq,
  ne,
  strict_eq,
  strict_ne,
  lt,
  le,
  gt,
  ge,
  add,
  sub,
  mul,
  div,
  mod,
  min,
  max,
  in,
  cat,
  substr,
  merge,
  log,
  map,
  filter,
  reduce,
  all,
  some,
  none,
  event_count,
  purchase_total,
  days_since_last,
  visit_number,
  birthday_within,
  weekday_in,
  local_time_between,
  has_tag,
  in_segment,
  days_since_enrolment,
};

/// One compiled node. The arguments of a node are the `argc` nodes from `first` on.
struct Node {
  Op op = Op::literal;
  std::uint32_t argc = 0;
  std::uint32_t first = 0;
  std::uint32_t aux = 0;   // var, *_slot: path index; loops: the size of their logic (the
                           // steps one element costs); loyalty: days, weekday mask, start second
  std::uint32_t aux2 = 0;  // var_slot, *_slot: layout slot; local_time_between: end second
  Value constant;          // literal: the value; loyalty: the string argument
};

/// One step of a var path: an object key, or (when canonical) also an array index.
struct Segment {
  std::string_view key;
  bool is_index = false;
  std::uint32_t index = 0;
};

/// A dotted var path, split once. `whole` paths ("" or null) name the whole scope. Paths live in
/// deques and are never moved, because segments view into text.
struct Path {
  Path(std::string text, bool whole);
  Path(const Path&) = delete;
  Path& operator=(const Path&) = delete;

  std::string text;
  bool whole;
  std::vector<Segment> segments;
};

/// The value at `path` under `scope`, or undefined, with the semantics of json-logic-js's var:
/// object keys, array indexes, and `length` of arrays and strings.
Value resolve(const Value& scope, const Path& path) noexcept;
/// The same for a path computed at evaluation time.
Value resolve(const Value& scope, std::string_view dotted_path) noexcept;

/// Mutable state of one evaluation: scratch memory, a string buffer, and the step budget.
struct Scratch {
  explicit Scratch(const Limits& limits)
      : arena(limits.max_eval_bytes),
        max_steps(limits.max_eval_steps),
        max_bytes(limits.max_eval_bytes),
        max_depth(limits.max_value_depth) {}

  void start() {
    arena.reset();
    steps = 0;
    budget = max_steps;
    outcome = Outcome::ok;
  }
  /// Counts one step; false once the budget is spent (or the evaluation failed).
  bool step() {
    if (++steps <= budget) return true;
    fail(Outcome::too_many_steps);
    return false;
  }
  void fail(Outcome why) {
    if (outcome == Outcome::ok) outcome = why;
    budget = 0;
  }
  bool failed() const { return outcome != Outcome::ok; }

  Arena arena;
  std::string text;
  std::uint64_t steps = 0;
  std::uint64_t budget = 0;
  std::uint64_t max_steps;
  std::size_t max_bytes;
  int max_depth;
  Outcome outcome = Outcome::ok;
};

/// Whether two strings have the same bytes; strings of up to 16 bytes (the usual store codes,
/// tiers and event types) are compared with two overlapping word loads instead of a call to
/// memcmp.
inline bool same_text(std::string_view a, std::string_view b) noexcept {
  std::size_t n = a.size();
  if (n != b.size()) return false;
  if (n > 16) return a == b;
  auto load8 = [](const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  auto load4 = [](const char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  };
  if (n >= 8) {
    return ((load8(a.data()) ^ load8(b.data())) |
            (load8(a.data() + n - 8) ^ load8(b.data() + n - 8))) == 0;
  }
  if (n >= 4) {
    return ((load4(a.data()) ^ load4(b.data())) |
            (load4(a.data() + n - 4) ^ load4(b.data() + n - 4))) == 0;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// JavaScript's conversions and comparisons (ECMAScript abstract operations), as json-logic-js
// applies them. Where they need memory they take it from scratch; on exhaustion they mark the
// evaluation failed and return something harmless.
double to_number(const Value& v) noexcept;                                  // Number(v)
double parse_float(const Value& v) noexcept;                                // parseFloat(v)
std::string_view to_string(const Value& v, Scratch& s);                     // String(v)
void append_string(const Value& v, Scratch& s);                             // s.text += String(v)
bool strict_equals(const Value& a, const Value& b) noexcept;                // a === b
bool loose_equals(const Value& a, const Value& b, Scratch& s);              // a == b
std::optional<bool> less_than(const Value& a, const Value& b, Scratch& s);  // a < b, or undefined

/// Converts JSON into values in `arena`, refusing what `limits` do not allow: the first problem
/// is reported through `error` with its pointer (relative to `pointer`) and conversion stops.
struct Importer {
  Arena& arena;
  const Limits& limits;
  std::size_t nodes = 0;
  std::optional<FieldError> error;

  Value import(const nlohmann::json& j, int depth, std::string& pointer);
};

/// "WHAT: MESSAGE" for one error, "WHAT: N problems" for several.
std::string summarize(std::string_view what, const std::vector<FieldError>& errors);

void append_pointer_token(std::string& pointer, std::string_view token);
void append_pointer_index(std::string& pointer, std::size_t index);

}  // namespace loyalty::rules::detail

namespace loyalty::rules {

struct DataLayout::Impl {
  std::deque<detail::Path> paths;
  std::unordered_map<std::string_view, std::uint32_t> slots;  // keys view into paths
};

struct Program::Impl {
  Impl() = default;
  Impl(const Impl&) = delete;
  std::vector<detail::Node> nodes;
  detail::Arena constants;
  std::deque<detail::Path> paths;
  std::shared_ptr<DataLayout> layout;
  std::vector<HistoryRequirement> requirements;
  bool boolean_result = false;  // the rule's value is always true or false
};

struct PreparedData::Impl {
  Impl() = default;
  Impl(const Impl&) = delete;
  detail::Arena arena;
  Value root;
  std::vector<Value> slots;  // one per layout slot: the value at that path, or undefined
  std::shared_ptr<const DataLayout> layout;
};

}  // namespace loyalty::rules
