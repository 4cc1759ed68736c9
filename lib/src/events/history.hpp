#pragma once
// Private: the customer's history for the loyalty operators, fetched lazily (only what a rule
// evaluates) and cached for the event.

#include "db/tx.hpp"

#include <loyalty/rules/history.hpp>
#include <nlohmann/json.hpp>

#include <map>

namespace loyalty::events {

class DbHistory : public rules::HistoryProvider {
 public:
  /// `customer` holds birthday, enrolled_local (YYYY-MM-DD), tags, segments; `local` is the
  /// event's local "YYYY-MM-DD HH:MM:SS"; `occurred_at` its instant (RFC 3339).
  DbHistory(db::Tx& tx, std::string tenant_id, std::string customer_id, std::string event_id,
            std::string occurred_at, std::string timezone, const nlohmann::json& customer,
            const std::string& local);

  std::optional<rules::LocalDateTime> local_time() override { return local_; }
  std::int64_t event_count(std::string_view event_type, int days) override;
  double purchase_total(int days, std::string_view currency) override;
  std::optional<std::chrono::year_month_day> last_event_date(std::string_view event_type) override;
  std::int64_t visit_number(std::string_view event_type) override;
  std::optional<std::chrono::month_day> birthday() override { return birthday_; }
  std::optional<std::chrono::year_month_day> enrolment_date() override { return enrolled_; }
  bool has_tag(std::string_view tag) override;
  bool in_segment(std::string_view segment) override;

 private:
  db::Tx& tx_;
  std::string tenant_id_, customer_id_, event_id_, occurred_at_, timezone_;
  std::optional<rules::LocalDateTime> local_;
  std::optional<std::chrono::month_day> birthday_;
  std::optional<std::chrono::year_month_day> enrolled_;
  std::vector<std::string> tags_, segments_;
  std::map<std::string, double> cache_;
};

/// Parses "YYYY-MM-DD".
std::optional<std::chrono::year_month_day> parse_date(const std::string& s);

}  // namespace loyalty::events
