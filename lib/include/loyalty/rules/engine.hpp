#pragma once
// The rules engine: JsonLogic (every operation of jsonlogic.com, with JavaScript semantics) plus
// loyalty operators over the customer's history, compiled once and evaluated without re-parsing.
//
// Typical use by the event pipeline (one RuleSet per tenant, cached until the rules change):
//
//   rules::RuleSet set;
//   for (const auto& rule : definitions) set.add(rule.conditions);      // compile once
//   ...
//   rules::PreparedData data = set.prepare(event_json);                 // once per event
//   rules::Evaluator evaluator;                                          // one per thread
//   for (std::size_t i = 0; i < set.size(); ++i)
//     if (evaluator.matches(set[i], data, &history)) ...
//
// Thread safety: compiling into a DataLayout (RuleSet::add, compile) must not run concurrently
// with anything else using that layout. Once compiled, Programs, the layout and PreparedData are
// immutable and may be shared by any number of threads, each with its own Evaluator.

#include <loyalty/core/error.hpp>
#include <loyalty/rules/history.hpp>
#include <loyalty/rules/limits.hpp>
#include <loyalty/rules/value.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty::rules {

/// The `var` paths that a set of rules reads from the root of the data, each given a slot at
/// compile time. Data prepared against a layout resolves every path once, so a root `var` costs
/// one indexed load per evaluation, whichever rule reads it.
class DataLayout {
 public:
  DataLayout();
  ~DataLayout();
  DataLayout(const DataLayout&) = delete;
  DataLayout& operator=(const DataLayout&) = delete;

  /// The slot of a dotted path ("event.amount"), added if new. Not thread-safe.
  std::uint32_t slot(std::string_view dotted_path);
  /// Number of slots.
  std::size_t size() const noexcept;
  /// The dotted path of a slot.
  std::string_view path(std::uint32_t slot) const;

  struct Impl;
  const Impl& impl() const noexcept { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

/// A compiled rule. Move-only; immutable after compilation.
class Program {
 public:
  Program(Program&&) noexcept;
  Program& operator=(Program&&) noexcept;
  ~Program();

  /// The history values this rule may read, sorted and without duplicates.
  const std::vector<HistoryRequirement>& requirements() const noexcept;
  /// The layout the rule's root `var` paths were given slots in.
  const std::shared_ptr<DataLayout>& layout() const noexcept;

  struct Impl;
  const Impl& impl() const noexcept { return *impl_; }

 private:
  friend Program compile(const nlohmann::json&, std::shared_ptr<DataLayout>, const Limits&);
  explicit Program(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Compiles JsonLogic. Unknown operators, malformed loyalty operators and input over `limits`
/// are refused here, never at evaluation. Without a layout the program gets a private one.
/// Throws loyalty::Error (invalid) listing every problem, each with the JSON pointer of the
/// offending node relative to `logic` (`/and/1/>=`) and a message naming the operator.
Program compile(const nlohmann::json& logic, std::shared_ptr<DataLayout> layout = nullptr,
                const Limits& limits = Limits::for_rules());

/// Checks JsonLogic without keeping the result: every problem compile would report, with
/// `pointer_prefix` (e.g. "/rules/3/conditions") before each pointer. Never throws for bad
/// input.
std::vector<FieldError> check_logic(const nlohmann::json& logic,
                                    std::string_view pointer_prefix = "",
                                    const Limits& limits = Limits::for_rules());

/// An event's data, converted once into the engine's form and resolved against a layout; shared
/// (read-only) by every rule evaluated for that event. Move-only.
class PreparedData {
 public:
  PreparedData(PreparedData&&) noexcept;
  PreparedData& operator=(PreparedData&&) noexcept;
  ~PreparedData();

  /// The whole data document.
  const Value& root() const noexcept;

  struct Impl;
  const Impl& impl() const noexcept { return *impl_; }

 private:
  friend PreparedData prepare(const nlohmann::json&, std::shared_ptr<const DataLayout>,
                              const Limits&);
  explicit PreparedData(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Prepares data for evaluation against programs compiled with `layout` (programs compiled with
/// another layout still evaluate correctly, only slower).
/// Throws loyalty::Error (invalid) with the pointer of the first part over `limits`.
PreparedData prepare(const nlohmann::json& data, std::shared_ptr<const DataLayout> layout,
                     const Limits& limits = Limits::for_data());

/// Why an evaluation stopped early.
enum class Outcome : std::uint8_t {
  ok,
  too_many_steps,   ///< more than Limits::max_eval_steps operations
  too_much_memory,  ///< more than Limits::max_eval_bytes of built values
  too_deep,         ///< a built value nested deeper than Limits::max_value_depth
};

/// A short description of an outcome ("more than 1000000 evaluation steps").
std::string describe(Outcome outcome, const Limits& limits);

/// Evaluates programs. Keeps scratch memory between evaluations, so after the first few calls an
/// evaluation allocates nothing. One per thread; not thread-safe.
class Evaluator {
 public:
  explicit Evaluator(const Limits& limits = Limits::for_rules());
  ~Evaluator();
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;

  /// Evaluates `program` on `data`. Never throws for any data or rule (only what `history`
  /// throws propagates); without a provider, loyalty operators give null. When a limit stops
  /// the evaluation the result is null and outcome() says which. The result is valid until the
  /// next evaluation, and while program and data live.
  Value evaluate(const Program& program, const PreparedData& data,
                 HistoryProvider* history = nullptr);

  /// Whether the program's result is truthy (JsonLogic truthiness); false when a limit stopped
  /// the evaluation.
  bool matches(const Program& program, const PreparedData& data,
               HistoryProvider* history = nullptr);

  /// Why the last evaluation stopped (ok when it did not).
  Outcome outcome() const noexcept;

  /// Receives the values passed to the `log` operator (by default they are dropped).
  void set_log_sink(std::function<void(const Value&)> sink);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// A tenant's rules compiled against one shared layout, so that one PreparedData serves them
/// all. Not thread-safe while adding; shareable afterwards.
class RuleSet {
 public:
  RuleSet();
  ~RuleSet();
  RuleSet(RuleSet&&) noexcept;
  RuleSet& operator=(RuleSet&&) noexcept;

  /// Compiles and appends one rule's conditions; returns its index.
  /// Throws loyalty::Error (invalid) as compile does.
  std::size_t add(const nlohmann::json& conditions, const Limits& limits = Limits::for_rules());
  std::size_t size() const noexcept { return programs_.size(); }
  const Program& operator[](std::size_t index) const { return programs_.at(index); }

  /// Prepares an event's data for all rules of the set. Throws as prepare does.
  PreparedData prepare(const nlohmann::json& data, const Limits& limits = Limits::for_data()) const;
  /// The union of the rules' history requirements, sorted and without duplicates.
  std::vector<HistoryRequirement> requirements() const;

 private:
  std::shared_ptr<DataLayout> layout_;
  std::vector<Program> programs_;
};

/// Compiles, prepares and evaluates in one call, returning the result as JSON; for tools and
/// tests, not for the hot path. `on_log` receives the arguments of `log`.
/// Throws loyalty::Error (invalid) for an invalid rule, data over the limits, or an evaluation
/// stopped by a limit.
nlohmann::json apply(const nlohmann::json& logic, const nlohmann::json& data,
                     HistoryProvider* history = nullptr,
                     const std::function<void(const nlohmann::json&)>& on_log = {});

/// One operator of the rule language, for documentation and rule builders.
struct OperatorInfo {
  std::string_view name;
  bool loyalty;               ///< a loyalty operator (history and clock), not standard JsonLogic
  std::string_view synopsis;  ///< e.g. `{"event_count": [EVENT_TYPE, DAYS]}`
  std::string_view summary;
};

/// Every operator the engine accepts.
std::span<const OperatorInfo> operators() noexcept;

/// Timing of repeated evaluation, for `loyaltyctl rules bench`.
struct BenchResult {
  std::uint64_t iterations = 0;
  double ns_per_eval = 0;
  nlohmann::json result;
};

/// Compiles `logic` once, prepares `data` once, evaluates `iterations` times and reports the
/// mean time per evaluation. Throws loyalty::Error (invalid) as apply does.
BenchResult bench(const nlohmann::json& logic, const nlohmann::json& data,
                  std::uint64_t iterations);

}  // namespace loyalty::rules
