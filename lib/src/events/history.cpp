#include "events/history.hpp"

namespace loyalty::events {

namespace {

using db::Query;

const Query kCount{"hist_count",
                   "SELECT count(*) FROM events WHERE tenant_id = $1::uuid AND customer_id = "
                   "$2::uuid AND type = $3 AND occurred_at >= $4::timestamptz - $5 * interval "
                   "'1 day' AND occurred_at < $4::timestamptz AND id <> $6::uuid"};
const Query kTotal{"hist_total",
                   "SELECT coalesce(sum(amount_minor), 0) FROM events WHERE tenant_id = $1::uuid "
                   "AND customer_id = $2::uuid AND type = 'purchase' AND occurred_at >= "
                   "$3::timestamptz - $4 * interval '1 day' AND occurred_at < $3::timestamptz AND "
                   "id <> $5::uuid AND ($6 = '' OR currency = $6)"};
const Query kLast{"hist_last",
                  "SELECT to_char(max(occurred_at) AT TIME ZONE $6, 'YYYY-MM-DD') FROM events "
                  "WHERE tenant_id = $1::uuid AND customer_id = $2::uuid AND type = $3 AND "
                  "occurred_at <= $4::timestamptz AND id <> $5::uuid"};
const Query kVisit{"hist_visit",
                   "SELECT count(*) + 1 FROM events WHERE tenant_id = $1::uuid AND customer_id = "
                   "$2::uuid AND type = $3 AND occurred_at <= $4::timestamptz AND id <> $5::uuid"};

}  // namespace

std::optional<std::chrono::year_month_day> parse_date(const std::string& s) {
  if (s.size() < 10) return std::nullopt;
  try {
    int y = std::stoi(s.substr(0, 4));
    unsigned m = static_cast<unsigned>(std::stoi(s.substr(5, 2)));
    unsigned d = static_cast<unsigned>(std::stoi(s.substr(8, 2)));
    std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m),
                                    std::chrono::day(d)};
    if (!ymd.ok()) return std::nullopt;
    return ymd;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

DbHistory::DbHistory(db::Tx& tx, std::string tenant_id, std::string customer_id,
                     std::string event_id, std::string occurred_at, std::string timezone,
                     const nlohmann::json& customer, const std::string& local)
    : tx_(tx),
      tenant_id_(std::move(tenant_id)),
      customer_id_(std::move(customer_id)),
      event_id_(std::move(event_id)),
      occurred_at_(std::move(occurred_at)),
      timezone_(std::move(timezone)) {
  if (auto date = parse_date(local); date && local.size() >= 19) {
    int h = std::stoi(local.substr(11, 2)), mi = std::stoi(local.substr(14, 2)),
        se = std::stoi(local.substr(17, 2));
    local_ = rules::LocalDateTime{*date, std::chrono::seconds(h * 3600 + mi * 60 + se)};
  }
  if (customer.contains("birthday") && customer["birthday"].is_string()) {
    if (auto b = parse_date(customer["birthday"].get<std::string>())) {
      birthday_ = std::chrono::month_day(b->month(), b->day());
    }
  }
  if (customer.contains("enrolled_local") && customer["enrolled_local"].is_string()) {
    enrolled_ = parse_date(customer["enrolled_local"].get<std::string>());
  }
  if (customer.contains("tags")) tags_ = customer["tags"].get<std::vector<std::string>>();
  if (customer.contains("segments"))
    segments_ = customer["segments"].get<std::vector<std::string>>();
}

std::int64_t DbHistory::event_count(std::string_view event_type, int days) {
  std::string key = "count:" + std::string(event_type) + ":" + std::to_string(days);
  if (auto it = cache_.find(key); it != cache_.end()) return static_cast<std::int64_t>(it->second);
  auto n = tx_.exec1(kCount, tenant_id_, customer_id_, std::string(event_type), occurred_at_, days,
                     event_id_)[0]
               .as<std::int64_t>();
  cache_[key] = static_cast<double>(n);
  return n;
}

double DbHistory::purchase_total(int days, std::string_view currency) {
  std::string key = "total:" + std::string(currency) + ":" + std::to_string(days);
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  // The sum is numeric and may pass 64 bits over many events: read as a double, as rules see it.
  auto minor = tx_.exec1(kTotal, tenant_id_, customer_id_, occurred_at_, days, event_id_,
                         std::string(currency))[0]
                   .as<double>();
  double total = minor / 100.0;
  cache_[key] = total;
  return total;
}

std::optional<std::chrono::year_month_day> DbHistory::last_event_date(std::string_view event_type) {
  auto r = tx_.exec1(kLast, tenant_id_, customer_id_, std::string(event_type), occurred_at_,
                     event_id_, timezone_);
  if (r[0].is_null()) return std::nullopt;
  return parse_date(r[0].as<std::string>());
}

std::int64_t DbHistory::visit_number(std::string_view event_type) {
  std::string key = "visit:" + std::string(event_type);
  if (auto it = cache_.find(key); it != cache_.end()) return static_cast<std::int64_t>(it->second);
  auto n = tx_.exec1(kVisit, tenant_id_, customer_id_, std::string(event_type), occurred_at_,
                     event_id_)[0]
               .as<std::int64_t>();
  cache_[key] = static_cast<double>(n);
  return n;
}

bool DbHistory::has_tag(std::string_view tag) {
  return std::find(tags_.begin(), tags_.end(), tag) != tags_.end();
}

bool DbHistory::in_segment(std::string_view segment) {
  return std::find(segments_.begin(), segments_.end(), segment) != segments_.end();
}

}  // namespace loyalty::events
