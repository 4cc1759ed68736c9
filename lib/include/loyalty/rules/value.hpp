#pragma once
// The value type the rules engine computes with: a 16-byte view of a JSON value whose strings,
// arrays and objects live in storage owned by a Program (constants), a PreparedData (event data)
// or an Evaluator (values built during one evaluation).

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace loyalty::rules {

/// The JSON type of a Value, plus JavaScript's `undefined`, which stands for a missing operator
/// argument inside the engine. `to_json` writes undefined as null.
enum class Kind : std::uint8_t { undefined, null, boolean, number, string, array, object };

struct Member;

/// A read-only view of one JSON value. Copying a Value copies the view, not the data: a Value is
/// valid while the Program, PreparedData or Evaluator that produced it is alive (an Evaluator's
/// values until its next evaluation).
class Value {
 public:
  constexpr Value() noexcept : b_(false) {}

  static constexpr Value undefined() noexcept {
    Value v;
    v.kind_ = Kind::undefined;
    return v;
  }
  static constexpr Value boolean(bool b) noexcept {
    Value v;
    v.kind_ = Kind::boolean;
    v.b_ = b;
    return v;
  }
  static constexpr Value number(double n) noexcept {
    Value v;
    v.kind_ = Kind::number;
    v.n_ = n;
    return v;
  }
  /// A string value viewing `s` (not copied). Strings longer than 4 GiB are not representable.
  static Value string(std::string_view s) noexcept {
    Value v;
    v.kind_ = Kind::string;
    v.size_ = static_cast<std::uint32_t>(s.size());
    v.s_ = s.data();
    return v;
  }
  /// An array viewing `size` items; `depth` is 1 + the deepest item's depth.
  static Value array(const Value* items, std::uint32_t size, std::uint16_t depth) noexcept {
    Value v;
    v.kind_ = Kind::array;
    v.depth_ = depth;
    v.size_ = size;
    v.a_ = items;
    return v;
  }
  /// An object viewing `size` members, which must be sorted by key (byte order) without
  /// duplicates.
  static Value object(const Member* members, std::uint32_t size, std::uint16_t depth) noexcept {
    Value v;
    v.kind_ = Kind::object;
    v.depth_ = depth;
    v.size_ = size;
    v.o_ = members;
    return v;
  }

  Kind kind() const noexcept { return kind_; }
  bool is_undefined() const noexcept { return kind_ == Kind::undefined; }
  bool is_null() const noexcept { return kind_ == Kind::null; }
  /// True for null and undefined.
  bool is_nullish() const noexcept { return kind_ <= Kind::null; }
  bool is_boolean() const noexcept { return kind_ == Kind::boolean; }
  bool is_number() const noexcept { return kind_ == Kind::number; }
  bool is_string() const noexcept { return kind_ == Kind::string; }
  bool is_array() const noexcept { return kind_ == Kind::array; }
  bool is_object() const noexcept { return kind_ == Kind::object; }

  /// The payload; calling the accessor of another kind is undefined behaviour.
  bool as_bool() const noexcept { return b_; }
  double as_number() const noexcept { return n_; }
  std::string_view as_string() const noexcept { return {s_, size_}; }
  std::span<const Value> as_array() const noexcept { return {a_, size_}; }
  std::span<const Member> as_object() const noexcept;

  /// Number of elements, members or string bytes; 0 for scalars.
  std::uint32_t size() const noexcept { return kind_ >= Kind::string ? size_ : 0; }
  /// Nesting depth: 0 for scalars and strings, 1 for an array of scalars, ...
  std::uint16_t depth() const noexcept { return depth_; }
  /// The storage address of a string, array or object; two arrays are the same array (as in
  /// JavaScript's `===`) when their identities and sizes are equal.
  const void* identity() const noexcept {
    return kind_ == Kind::array    ? static_cast<const void*>(a_)
           : kind_ == Kind::object ? static_cast<const void*>(o_)
                                   : nullptr;
  }

  /// The member named `key` of an object, or nullptr (also for non-objects).
  const Value* find(std::string_view key) const noexcept;

 private:
  Kind kind_ = Kind::null;
  std::uint8_t reserved_ = 0;
  std::uint16_t depth_ = 0;
  std::uint32_t size_ = 0;
  union {
    bool b_;
    double n_;
    const char* s_;
    const Value* a_;
    const Member* o_;
  };
};

/// One member of an object value.
struct Member {
  std::string_view key;
  Value value;
};

inline std::span<const Member> Value::as_object() const noexcept { return {o_, size_}; }

/// JsonLogic truthiness: false, null, undefined, 0, NaN, "" and [] are falsy; everything else,
/// including "0" and {}, is truthy.
inline bool truthy(const Value& value) noexcept {
  switch (value.kind()) {
    case Kind::undefined:
    case Kind::null:
      return false;
    case Kind::boolean:
      return value.as_bool();
    case Kind::number:
      return value.as_number() == value.as_number() && value.as_number() != 0;
    case Kind::string:
    case Kind::array:
      return value.size() > 0;
    case Kind::object:
      return true;
  }
  return false;
}

/// Converts a value to JSON: integral numbers up to 2^53 become JSON integers, NaN and infinities
/// become null (as JSON.stringify does), undefined becomes null.
/// Throws loyalty::Error (invalid) when the value expands to more than `max_nodes` JSON values
/// (values built by an evaluation may share parts, so their expansion can be large).
nlohmann::json to_json(const Value& value, std::size_t max_nodes = 1'000'000);

}  // namespace loyalty::rules
