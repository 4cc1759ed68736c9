#pragma once
// What the loyalty operators read: the customer's history and the tenant-local clock, supplied
// by the event pipeline through HistoryProvider. The engine never touches the database; each
// compiled rule lists the HistoryRequirements it may ask for, so the pipeline fetches only those
// (up front, in one query, or lazily inside the provider).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loyalty::rules {

/// A moment on the tenant's local calendar and clock (the pipeline converts the event's time to
/// the tenant's time zone; libstdc++ 12 has no tzdb, so this is done in SQL).
struct LocalDateTime {
  std::chrono::year_month_day date;
  std::chrono::seconds time_of_day{0};  ///< seconds since local midnight, 0..86399
  bool operator==(const LocalDateTime&) const = default;
};

/// One kind of history value; each maps to one HistoryProvider method of the same name.
enum class HistoryKind : std::uint8_t {
  local_time,       ///< local_time()
  event_count,      ///< event_count(subject = event type, days)
  purchase_total,   ///< purchase_total(days, subject = currency or "")
  last_event_date,  ///< last_event_date(subject = event type)
  visit_number,     ///< visit_number(subject = event type)
  birthday,         ///< birthday()
  enrolment_date,   ///< enrolment_date()
  tag,              ///< has_tag(subject = tag)
  segment,          ///< in_segment(subject = segment)
};

/// One history value a compiled rule may read.
struct HistoryRequirement {
  HistoryKind kind = HistoryKind::local_time;
  std::string subject;  ///< event type, tag, segment or currency; empty when not applicable
  int days = 0;         ///< the window of event_count and purchase_total
  auto operator<=>(const HistoryRequirement&) const = default;
};

/// The name of a history kind, as in HistoryProvider ("event_count", ...).
std::string_view to_string(HistoryKind kind) noexcept;

/// Supplies the customer's history and the local clock for one event. The engine calls these
/// only for operators it actually evaluates (`and`/`or`/`if` short-circuit), possibly more than
/// once per evaluation, so an implementation that queries lazily should cache. Exceptions thrown
/// here (a database failure) propagate out of Evaluator::evaluate.
///
/// "Earlier" events are the customer's events before the one being evaluated; windows of N days
/// are the N*24 hours before the event's time.
class HistoryProvider {
 public:
  virtual ~HistoryProvider() = default;

  /// The event's time on the tenant's local calendar and clock; nullopt if unknown.
  virtual std::optional<LocalDateTime> local_time() = 0;
  /// Number of earlier events of `event_type` in the last `days` days.
  virtual std::int64_t event_count(std::string_view event_type, int days) = 0;
  /// Sum of the amounts (major units, e.g. 72.5) of earlier purchase events in the last `days`
  /// days, in `currency` only when it is not empty.
  virtual double purchase_total(int days, std::string_view currency) = 0;
  /// Local date of the latest earlier event of `event_type`; nullopt if there is none.
  virtual std::optional<std::chrono::year_month_day> last_event_date(
      std::string_view event_type) = 0;
  /// Number of the customer's events of `event_type` up to and including this one (1 on the
  /// first).
  virtual std::int64_t visit_number(std::string_view event_type) = 0;
  /// The customer's birthday; nullopt if unknown.
  virtual std::optional<std::chrono::month_day> birthday() = 0;
  /// Local date of the customer's enrolment; nullopt if unknown.
  virtual std::optional<std::chrono::year_month_day> enrolment_date() = 0;
  /// Whether the customer carries `tag`.
  virtual bool has_tag(std::string_view tag) = 0;
  /// Whether the customer belongs to `segment`.
  virtual bool in_segment(std::string_view segment) = 0;
};

/// Days from `today` to the next occurrence of `birthday` (0 when it is today). A 29 February
/// birthday falls on 28 February in common years.
int days_until_birthday(std::chrono::month_day birthday, std::chrono::year_month_day today);

}  // namespace loyalty::rules
