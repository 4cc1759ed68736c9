#pragma once
// Limits on hostile input: every rule, data document and evaluation is bounded, so a deep, huge
// or looping input gets a clear validation error instead of a crash, a stack overflow or an
// unbounded loop.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace loyalty::rules {

/// Bounds for one rule (its JsonLogic), one data document, or one evaluation.
struct Limits {
  /// Bytes of JSON text accepted by parse_document.
  std::size_t max_document_bytes = 1 << 20;
  /// Nesting of arrays and objects: `1` is depth 0, `[1]` depth 1, `[[1]]` depth 2.
  int max_depth = 64;
  /// JSON values (scalars, arrays and objects) in one rule or one data document.
  std::size_t max_nodes = 10'000;
  /// Bytes in one string or object key.
  std::size_t max_string_bytes = 4 * 1024;
  /// Elements of one array, members of one object.
  std::size_t max_array_length = 10'000;
  /// Work in one evaluation: each element a loop (map, filter, reduce, all, some, none) visits
  /// costs the size of the loop's logic, scanning or copying an array of data costs its length,
  /// and converting a value to a string costs the values visited. (The rest of a rule is
  /// bounded by max_nodes.)
  std::uint64_t max_eval_steps = 1'000'000;
  /// Scratch memory for values built in one evaluation (arrays, strings).
  std::size_t max_eval_bytes = 16 << 20;
  /// Nesting depth of values built in one evaluation.
  int max_value_depth = 128;

  /// Limits for a rule's conditions: depth 64, 10,000 nodes, strings of 4 KiB, arrays of 10,000.
  static Limits for_rules() noexcept { return Limits{}; }

  /// Limits for an event's data: depth 32, 100,000 nodes, strings of 64 KiB, arrays of 10,000,
  /// 4 MiB of text.
  static Limits for_data() noexcept {
    Limits limits;
    limits.max_document_bytes = 4 << 20;
    limits.max_depth = 32;
    limits.max_nodes = 100'000;
    limits.max_string_bytes = 64 * 1024;
    return limits;
  }

  /// Limits for a file of rule definitions as a whole (each rule's conditions are then held to
  /// for_rules): depth 70, 1,000,000 nodes, 16 MiB of text, up to 10,000 rules.
  static Limits for_definition_files() noexcept {
    Limits limits;
    limits.max_document_bytes = 16 << 20;
    limits.max_depth = 70;
    limits.max_nodes = 1'000'000;
    return limits;
  }
};

/// Parses JSON text after checking its size and nesting depth against `limits`, so that a
/// 100,000-deep `[[[[...` is refused before nlohmann::json sees it.
/// Throws loyalty::Error (invalid) naming the problem and, for syntax errors, the byte offset.
nlohmann::json parse_document(std::string_view text, const Limits& limits);

}  // namespace loyalty::rules
