#include <loyalty/rules/history.hpp>

#include <limits>

namespace loyalty::rules {

std::string_view to_string(HistoryKind kind) noexcept {
  switch (kind) {
    case HistoryKind::local_time:
      return "local_time";
    case HistoryKind::event_count:
      return "event_count";
    case HistoryKind::purchase_total:
      return "purchase_total";
    case HistoryKind::last_event_date:
      return "last_event_date";
    case HistoryKind::visit_number:
      return "visit_number";
    case HistoryKind::birthday:
      return "birthday";
    case HistoryKind::enrolment_date:
      return "enrolment_date";
    case HistoryKind::tag:
      return "tag";
    case HistoryKind::segment:
      return "segment";
  }
  return "unknown";
}

int days_until_birthday(std::chrono::month_day birthday, std::chrono::year_month_day today) {
  using namespace std::chrono;
  if (!birthday.ok() || !today.ok()) return std::numeric_limits<int>::max();
  auto occurrence = [&](year y) {
    year_month_day date{y, birthday.month(), birthday.day()};
    if (!date.ok()) date = year_month_day{y, birthday.month(), day{28}};  // 29 Feb, common year
    return sys_days(date);
  };
  sys_days now(today);
  sys_days next = occurrence(today.year());
  if (next < now) next = occurrence(today.year() + years{1});
  return static_cast<int>((next - now).count());
}

}  // namespace loyalty::rules
