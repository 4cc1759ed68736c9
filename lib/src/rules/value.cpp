// Values and the JavaScript semantics JsonLogic is defined by (json-logic-js applies JavaScript's
// operators directly, so `==`, `<`, `+` and String() behave as in ECMAScript).
#include <loyalty/rules/value.hpp>

#include "internal.hpp"
#include "js.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace loyalty::rules {

const Value* Value::find(std::string_view key) const noexcept {
  if (kind_ != Kind::object) return nullptr;
  if (size_ <= 8) {
    for (std::uint32_t i = 0; i < size_; ++i) {
      if (o_[i].key == key) return &o_[i].value;
    }
    return nullptr;
  }
  const Member* end = o_ + size_;
  const Member* it =
      std::lower_bound(o_, end, key, [](const Member& m, std::string_view k) { return m.key < k; });
  return it != end && it->key == key ? &it->value : nullptr;
}

namespace {

nlohmann::json json_of(const Value& v, std::size_t& budget) {
  if (budget == 0) {
    throw_invalid("the result is too large to print",
                  {{"", "the result expands to too many JSON values"}});
  }
  --budget;
  switch (v.kind()) {
    case Kind::undefined:
    case Kind::null:
      return nullptr;
    case Kind::boolean:
      return v.as_bool();
    case Kind::number: {
      double d = v.as_number();
      if (!std::isfinite(d)) return nullptr;
      if (d == std::floor(d) && std::fabs(d) <= 9007199254740992.0) {
        return static_cast<std::int64_t>(d);
      }
      return d;
    }
    case Kind::string:
      return std::string(v.as_string());
    case Kind::array: {
      auto out = nlohmann::json::array();
      for (const Value& item : v.as_array()) out.push_back(json_of(item, budget));
      return out;
    }
    case Kind::object: {
      auto out = nlohmann::json::object();
      for (const Member& m : v.as_object()) out[std::string(m.key)] = json_of(m.value, budget);
      return out;
    }
  }
  return nullptr;
}

}  // namespace

nlohmann::json to_json(const Value& value, std::size_t max_nodes) {
  std::size_t budget = max_nodes;
  return json_of(value, budget);
}

}  // namespace loyalty::rules

namespace loyalty::rules::detail {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Value member(const Value& v, const Segment& segment) noexcept {
  switch (v.kind()) {
    case Kind::object: {
      const Value* found = v.find(segment.key);
      return found ? *found : Value::undefined();
    }
    case Kind::array:
      if (segment.is_index && segment.index < v.size()) return v.as_array()[segment.index];
      if (segment.key == "length") return Value::number(v.size());
      return Value::undefined();
    case Kind::string: {
      std::string_view s = v.as_string();
      if (segment.is_index) {
        std::size_t begin = code_point_offset(s, segment.index);
        if (begin >= s.size()) return Value::undefined();
        std::size_t end = code_point_offset(s.substr(begin), 1);
        return Value::string(s.substr(begin, end));
      }
      if (segment.key == "length") return Value::number(static_cast<double>(utf16_length(s)));
      return Value::undefined();
    }
    default:
      return Value::undefined();
  }
}

Value to_primitive(const Value& v, Scratch& s) {
  if (v.is_array()) return Value::string(to_string(v, s));
  if (v.is_object()) return Value::string("[object Object]");
  return v;
}

}  // namespace

Path::Path(std::string path_text, bool whole_scope)
    : text(std::move(path_text)), whole(whole_scope) {
  if (whole) return;
  std::string_view rest = text;
  while (true) {
    std::size_t dot = rest.find('.');
    Segment segment;
    segment.key = rest.substr(0, dot);
    segment.is_index = parse_array_index(segment.key, segment.index);
    segments.push_back(segment);
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
}

Value resolve(const Value& scope, const Path& path) noexcept {
  if (path.whole) return scope;
  Value current = scope;
  for (const Segment& segment : path.segments) {
    if (current.is_nullish()) return Value::undefined();
    current = member(current, segment);
    if (current.is_undefined()) return current;
  }
  return current;
}

Value resolve(const Value& scope, std::string_view dotted) noexcept {
  Value current = scope;
  while (true) {
    if (current.is_nullish()) return Value::undefined();
    std::size_t dot = dotted.find('.');
    Segment segment;
    segment.key = dotted.substr(0, dot);
    segment.is_index = parse_array_index(segment.key, segment.index);
    current = member(current, segment);
    if (current.is_undefined() || dot == std::string_view::npos) return current;
    dotted.remove_prefix(dot + 1);
  }
}

double to_number(const Value& v) noexcept {
  switch (v.kind()) {
    case Kind::undefined:
      return kNaN;
    case Kind::null:
      return 0;
    case Kind::boolean:
      return v.as_bool() ? 1 : 0;
    case Kind::number:
      return v.as_number();
    case Kind::string:
      return string_to_number(v.as_string());
    case Kind::array: {
      // Number(array) is Number(array.join(",")): a comma makes NaN, so only [] and [x] count.
      if (v.size() == 0) return 0;
      if (v.size() > 1) return kNaN;
      const Value& item = v.as_array()[0];
      if (item.is_nullish()) return 0;
      if (item.is_boolean() || item.is_object()) return kNaN;
      return to_number(item);
    }
    case Kind::object:
      return kNaN;
  }
  return kNaN;
}

double parse_float(const Value& v) noexcept {
  switch (v.kind()) {
    case Kind::number:
      return v.as_number();
    case Kind::string:
      return parse_float(v.as_string());
    case Kind::array: {
      // parseFloat reads String(array) = String(first) + "," + ...; the comma ends the number.
      if (v.size() == 0) return kNaN;
      const Value& first = v.as_array()[0];
      if (first.is_nullish()) return kNaN;
      return parse_float(first);
    }
    default:
      return kNaN;
  }
}

void append_string(const Value& v, Scratch& s) {
  if (!s.step()) return;
  switch (v.kind()) {
    case Kind::undefined:
      s.text += "undefined";
      break;
    case Kind::null:
      s.text += "null";
      break;
    case Kind::boolean:
      s.text += v.as_bool() ? "true" : "false";
      break;
    case Kind::number: {
      char buffer[kNumberBufferSize];
      s.text.append(buffer, format_number(v.as_number(), buffer));
      break;
    }
    case Kind::string:
      s.text += v.as_string();
      break;
    case Kind::array: {
      bool first = true;
      for (const Value& item : v.as_array()) {
        if (!first) s.text += ',';
        first = false;
        if (!item.is_nullish()) append_string(item, s);
        if (s.failed()) return;
      }
      break;
    }
    case Kind::object:
      s.text += "[object Object]";
      break;
  }
  if (s.text.size() > s.max_bytes) s.fail(Outcome::too_much_memory);
}

std::string_view to_string(const Value& v, Scratch& s) {
  switch (v.kind()) {
    case Kind::undefined:
      return "undefined";
    case Kind::null:
      return "null";
    case Kind::boolean:
      return v.as_bool() ? "true" : "false";
    case Kind::string:
      return v.as_string();
    case Kind::object:
      return "[object Object]";
    case Kind::number: {
      char buffer[kNumberBufferSize];
      std::string_view text = s.arena.copy({buffer, format_number(v.as_number(), buffer)});
      if (!text.data()) s.fail(Outcome::too_much_memory);
      return text;
    }
    case Kind::array:
      break;
  }
  s.text.clear();
  append_string(v, s);
  if (s.failed()) return {};
  std::string_view text = s.arena.copy(s.text);
  if (!text.data()) s.fail(Outcome::too_much_memory);
  return text;
}

bool strict_equals(const Value& a, const Value& b) noexcept {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::undefined:
    case Kind::null:
      return true;
    case Kind::boolean:
      return a.as_bool() == b.as_bool();
    case Kind::number:
      return a.as_number() == b.as_number();
    case Kind::string:
      return same_text(a.as_string(), b.as_string());
    case Kind::array:
    case Kind::object:
      return a.identity() == b.identity() && a.size() == b.size();
  }
  return false;
}

bool loose_equals(const Value& a, const Value& b, Scratch& s) {
  // ECMAScript IsLooselyEqual.
  Kind ka = a.kind();
  Kind kb = b.kind();
  if (ka == kb) return strict_equals(a, b);
  if (a.is_nullish() || b.is_nullish()) return a.is_nullish() && b.is_nullish();
  if (ka == Kind::boolean) return loose_equals(Value::number(to_number(a)), b, s);
  if (kb == Kind::boolean) return loose_equals(a, Value::number(to_number(b)), s);
  if (ka == Kind::number && kb == Kind::string) return a.as_number() == to_number(b);
  if (ka == Kind::string && kb == Kind::number) return to_number(a) == b.as_number();
  bool a_primitive = ka == Kind::number || ka == Kind::string;
  bool b_primitive = kb == Kind::number || kb == Kind::string;
  if (a_primitive && !b_primitive) return loose_equals(a, to_primitive(b, s), s);
  if (b_primitive && !a_primitive) return loose_equals(to_primitive(a, s), b, s);
  return false;
}

std::optional<bool> less_than(const Value& a, const Value& b, Scratch& s) {
  // ECMAScript IsLessThan: strings compare by content, everything else as numbers.
  Value pa = to_primitive(a, s);
  Value pb = to_primitive(b, s);
  if (pa.is_string() && pb.is_string()) return pa.as_string() < pb.as_string();
  double x = to_number(pa);
  double y = to_number(pb);
  if (std::isnan(x) || std::isnan(y)) return std::nullopt;
  return x < y;
}

std::string summarize(std::string_view what, const std::vector<FieldError>& errors) {
  std::string out(what);
  out += ": ";
  if (errors.size() == 1)
    out += errors.front().message;
  else
    out += std::to_string(errors.size()) + " problems";
  return out;
}

void append_pointer_token(std::string& pointer, std::string_view token) {
  pointer += '/';
  for (char c : token) {
    if (c == '~')
      pointer += "~0";
    else if (c == '/')
      pointer += "~1";
    else
      pointer += c;
  }
}

void append_pointer_index(std::string& pointer, std::size_t index) {
  pointer += '/';
  pointer += std::to_string(index);
}

Value Importer::import(const nlohmann::json& j, int depth, std::string& pointer) {
  if (error) return {};
  if (++nodes > limits.max_nodes) {
    error = FieldError{pointer,
                       "too many values (the limit is " + std::to_string(limits.max_nodes) + ")"};
    return {};
  }
  using T = nlohmann::json::value_t;
  switch (j.type()) {
    case T::null:
      return Value();
    case T::boolean:
      return Value::boolean(j.get<bool>());
    case T::number_integer:
      return Value::number(static_cast<double>(j.get<std::int64_t>()));
    case T::number_unsigned:
      return Value::number(static_cast<double>(j.get<std::uint64_t>()));
    case T::number_float:
      return Value::number(j.get<double>());
    case T::string: {
      const auto& text = j.get_ref<const std::string&>();
      if (text.size() > limits.max_string_bytes) {
        error = FieldError{
            pointer, "string longer than " + std::to_string(limits.max_string_bytes) + " bytes"};
        return {};
      }
      return Value::string(arena.copy(text));
    }
    case T::array:
    case T::object: {
      if (depth + 1 > limits.max_depth) {
        error = FieldError{pointer,
                           "nested deeper than " + std::to_string(limits.max_depth) + " levels"};
        return {};
      }
      if (j.size() > limits.max_array_length) {
        error =
            FieldError{pointer, std::string(j.is_array() ? "array" : "object") +
                                    " with more than " + std::to_string(limits.max_array_length) +
                                    (j.is_array() ? " elements" : " members")};
        return {};
      }
      std::size_t mark = pointer.size();
      std::uint16_t child_depth = 0;
      auto n = static_cast<std::uint32_t>(j.size());
      if (j.is_array()) {
        Value* items = arena.allocate_array<Value>(n);
        for (std::uint32_t i = 0; i < n; ++i) {
          append_pointer_index(pointer, i);
          items[i] = import(j[i], depth + 1, pointer);
          pointer.resize(mark);
          if (error) return {};
          child_depth = std::max(child_depth, items[i].depth());
        }
        return Value::array(items, n, static_cast<std::uint16_t>(child_depth + 1));
      }
      Member* members = arena.allocate_array<Member>(n);
      std::uint32_t i = 0;
      for (const auto& [key, value] : j.items()) {  // std::map order: sorted by key bytes
        append_pointer_token(pointer, key);
        if (key.size() > limits.max_string_bytes) {
          error = FieldError{
              pointer, "key longer than " + std::to_string(limits.max_string_bytes) + " bytes"};
          return {};
        }
        members[i].key = arena.copy(key);
        members[i].value = import(value, depth + 1, pointer);
        pointer.resize(mark);
        if (error) return {};
        child_depth = std::max(child_depth, members[i].value.depth());
        ++i;
      }
      return Value::object(members, n, static_cast<std::uint16_t>(child_depth + 1));
    }
    default:
      error = FieldError{pointer, "not a JSON value"};
      return {};
  }
}

}  // namespace loyalty::rules::detail
