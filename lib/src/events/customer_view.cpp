#include "events/customer_view.hpp"

namespace loyalty::events {

const char* const kCustomerColumns =
    "id::text, status, coalesce(birthday::text, ''), to_char(enrolled_at AT TIME ZONE $3, "
    "'YYYY-MM-DD'), attributes::text, array_to_json(tags)::text, "
    "array_to_json(segments)::text, to_char(coalesce($4::timestamptz, now()) AT TIME ZONE $3, "
    "'YYYY-MM-DD HH24:MI:SS'), to_char(coalesce($4::timestamptz, now()) AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
    // The tier (migration 0130) as "multiplier_bp name": one index probe, none without a tier.
    "CASE WHEN customers.tier_id IS NOT NULL THEN (SELECT t.multiplier_bp || ' ' || t.name "
    "FROM tiers t WHERE t.tenant_id = customers.tenant_id AND t.id = customers.tier_id) END, "
    "referral_open";

CustomerView read_customer_view(const pqxx::row& r) {
  CustomerView c;
  c.id = r[0].as<std::string>();
  c.status = r[1].as<std::string>();
  nlohmann::json attributes = nlohmann::json::parse(r[4].as<std::string>());
  nlohmann::json view = attributes.is_object() ? attributes : nlohmann::json::object();
  view["id"] = c.id;
  view["status"] = c.status;
  view["attributes"] = attributes;
  view["tags"] = nlohmann::json::parse(r[5].as<std::string>());
  view["segments"] = nlohmann::json::parse(r[6].as<std::string>());
  view["enrolled_local"] = r[3].as<std::string>();
  view["enrolled_at"] = r[3].as<std::string>();
  if (!r[2].as<std::string>().empty()) view["birthday"] = r[2].as<std::string>();
  c.view = std::move(view);
  c.local_time = r[7].as<std::string>();
  c.occurred_utc = r[8].as<std::string>();
  if (r[9].is_null()) {
    c.view["tier"] = nullptr;
  } else {
    auto tier = r[9].as<std::string>();
    auto space = tier.find(' ');
    c.tier_multiplier_bp = std::stoi(tier.substr(0, space));
    c.view["tier"] = tier.substr(space + 1);
  }
  c.referral_open = r[10].as<bool>();
  return c;
}

}  // namespace loyalty::events
