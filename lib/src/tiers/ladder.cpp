// A tenant's tier policy and ladder (GET/PUT .../tiers, loyaltyctl tiers set/list), and a
// customer's tier with its history (GET .../customers/:id/tiers, loyaltyctl tiers history).
#include "audit/audit.hpp"
#include "db/tx.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/tiers/tiers.hpp>

#include <algorithm>
#include <cctype>
#include <set>

namespace loyalty::tiers {

namespace {

using db::Query;

const Query kPolicy{"tiers_policy", R"sql(
  SELECT measure, window_kind, window_days, grace_days,
         to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS updated_at
    FROM tier_policies WHERE tenant_id = $1::uuid)sql"};
const Query kTiers{"tiers_ladder", R"sql(
  SELECT id::text, name, rank, threshold, multiplier_bp
    FROM tiers WHERE tenant_id = $1::uuid ORDER BY rank)sql"};

// The policy row is the ladder's lock: two replacements of one tenant's ladder serialize on it.
const Query kUpsertPolicy{"tiers_policy_upsert", R"sql(
  INSERT INTO tier_policies AS p (tenant_id, measure, window_kind, window_days, grace_days)
  VALUES ($1::uuid, $2, $3, $4::integer, $5::integer)
  ON CONFLICT (tenant_id) DO UPDATE
    SET measure = excluded.measure, window_kind = excluded.window_kind,
        window_days = excluded.window_days, grace_days = excluded.grace_days, updated_at = now())sql"};
const Query kDeleteGone{"tiers_delete_gone", R"sql(
  DELETE FROM tiers WHERE tenant_id = $1::uuid AND NOT (name = ANY ($2::text[])))sql"};
// Ranks may swap within the statement: their uniqueness is checked at the commit (0130).
const Query kUpsertTiers{"tiers_upsert", R"sql(
  INSERT INTO tiers AS t (tenant_id, name, rank, threshold, multiplier_bp)
  SELECT $1::uuid, n.name, n.rank, n.threshold, n.multiplier_bp
    FROM jsonb_to_recordset($2::jsonb)
         AS n (name text, rank integer, threshold bigint, multiplier_bp integer)
  ON CONFLICT (tenant_id, name) DO UPDATE
    SET rank = excluded.rank, threshold = excluded.threshold,
        multiplier_bp = excluded.multiplier_bp, updated_at = now())sql"};
const Query kDeletePolicy{"tiers_policy_delete",
                          "DELETE FROM tier_policies WHERE tenant_id = $1::uuid"};

const Query kCustomer{"tiers_customer", R"sql(
  SELECT t.name AS tier,
         coalesce(to_char(c.tier_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), '')
           AS since,
         coalesce(to_char(c.tier_below_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                  '') AS below_since,
         coalesce(tier_measure(c.tenant_id, c.id), 0) AS measure
    FROM customers c
    LEFT JOIN tiers t ON t.tenant_id = c.tenant_id AND t.id = c.tier_id
   WHERE c.tenant_id = $1::uuid AND c.id = $2::uuid)sql"};
const Query kHistory{"tiers_customer_history", R"sql(
  SELECT id, from_tier, to_tier, reason, measure, coalesce(event_id::text, '') AS event_id,
         to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS changed_at
    FROM customer_tier_history
   WHERE tenant_id = $1::uuid AND customer_id = $2::uuid
   ORDER BY id DESC LIMIT 500)sql"};

constexpr int kMaxTiers = 20;
constexpr int kMaxDays = 3660;
constexpr int kMaxMultiplier = 100000;  // 10x
constexpr std::int64_t kMaxThreshold = 1'000'000'000'000'000;

Ladder read_ladder(db::Tx& tx, const std::string& tenant_id) {
  Ladder out;
  auto policy = tx.exec(kPolicy, tenant_id);
  if (policy.empty()) return out;
  const auto& p = policy[0];
  out.defined = true;
  out.measure = p["measure"].as<std::string>();
  out.window = p["window_kind"].as<std::string>();
  if (!p["window_days"].is_null()) out.window_days = p["window_days"].as<int>();
  out.grace_days = p["grace_days"].as<int>();
  out.updated_at = p["updated_at"].as<std::string>();
  for (const auto& r : tx.exec(kTiers, tenant_id)) {
    out.tiers.push_back({r["id"].as<std::string>(), r["name"].as<std::string>(),
                         r["rank"].as<int>(), r["threshold"].as<std::int64_t>(),
                         r["multiplier_bp"].as<int>()});
  }
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

/// A whole number in [lo, hi] at body[key], or a field error (and none).
std::optional<std::int64_t> whole(const nlohmann::json& body, const char* key, std::int64_t lo,
                                  std::int64_t hi, const std::string& pointer,
                                  const std::string& what, std::vector<FieldError>& errors) {
  const auto& v = body.at(key);
  if (v.is_number_integer()) {
    auto n = v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(hi)
                 ? hi + 1
                 : v.get<std::int64_t>();
    if (n >= lo && n <= hi) return n;
  }
  errors.push_back({pointer, what});
  return std::nullopt;
}

/// The body checked, as the ladder to write (ids and timestamps empty).
Ladder parse_ladder(const nlohmann::json& body) {
  if (!body.is_object()) throw_invalid("the ladder must be a JSON object", {{"", "not an object"}});
  std::vector<FieldError> errors;
  Ladder out;
  out.defined = true;
  static const std::set<std::string> kKeys = {"measure", "window", "window_days", "grace_days",
                                              "tiers"};
  nlohmann::json given = nlohmann::json::object();  // null stands for absent
  for (const auto& [key, value] : body.items()) {
    if (!kKeys.count(key)) errors.push_back({"/" + key, "unknown field"});
    if (!value.is_null()) given[key] = value;
  }
  if (!given.contains("tiers") || !given["tiers"].is_array()) {
    errors.push_back({"/tiers", "required: the tiers, lowest first ([] removes them all)"});
    throw_invalid("the ladder is not valid", errors);
  }
  const auto& tiers = given["tiers"];
  if (tiers.empty()) {
    if (!errors.empty()) throw_invalid("the ladder is not valid", errors);
    out.defined = false;
    return out;
  }
  const std::string measure = given.value("measure", nlohmann::json()).is_string()
                                  ? given["measure"].get<std::string>()
                                  : "";
  if (measure != "points_earned" && measure != "amount_spent") {
    errors.push_back({"/measure", "must be points_earned or amount_spent"});
  }
  out.measure = measure;
  const std::string window =
      given.value("window", nlohmann::json()).is_string() ? given["window"].get<std::string>() : "";
  if (window != "rolling" && window != "calendar_year") {
    errors.push_back({"/window", "must be rolling or calendar_year"});
  }
  out.window = window;
  if (window == "rolling") {
    if (!given.contains("window_days")) {
      errors.push_back({"/window_days", "required for a rolling window: 1 to 3660 days"});
    } else if (auto d = whole(given, "window_days", 1, kMaxDays, "/window_days",
                              "must be a whole number of days, 1 to 3660", errors)) {
      out.window_days = static_cast<int>(*d);
    }
  } else if (window == "calendar_year" && given.contains("window_days")) {
    errors.push_back({"/window_days", "only for a rolling window"});
  }
  if (given.contains("grace_days")) {
    if (auto g = whole(given, "grace_days", 0, kMaxDays, "/grace_days",
                       "must be a whole number of days, 0 to 3660", errors)) {
      out.grace_days = static_cast<int>(*g);
    }
  }
  if (static_cast<int>(tiers.size()) > kMaxTiers) {
    errors.push_back({"/tiers", "at most 20 tiers"});
    throw_invalid("the ladder is not valid", errors);
  }
  std::set<std::string> names;
  std::optional<std::int64_t> below;
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    const auto& t = tiers[i];
    const std::string at = "/tiers/" + std::to_string(i);
    if (!t.is_object()) {
      errors.push_back({at, "must be an object {name, threshold, multiplier_bp}"});
      continue;
    }
    for (const auto& [key, value] : t.items()) {
      if (key != "name" && key != "threshold" && key != "multiplier_bp") {
        errors.push_back({at + "/" + key, "unknown field"});
      }
    }
    Tier tier;
    tier.rank = static_cast<int>(i) + 1;
    const auto& name = t.value("name", nlohmann::json());
    if (!name.is_string() || name.get<std::string>().empty() ||
        name.get<std::string>().size() > 60 ||
        std::isspace(static_cast<unsigned char>(name.get<std::string>().front())) ||
        std::isspace(static_cast<unsigned char>(name.get<std::string>().back()))) {
      errors.push_back({at + "/name", "required: 1 to 60 characters, no spaces around"});
    } else {
      tier.name = name.get<std::string>();
      if (!names.insert(lower(tier.name)).second) {
        errors.push_back({at + "/name", "another tier has this name"});
      }
    }
    if (!t.contains("threshold")) {
      errors.push_back({at + "/threshold", "required: the measure that reaches this tier"});
    } else if (auto th = whole(t, "threshold", 0, kMaxThreshold, at + "/threshold",
                               "must be a whole number, 0 to 10^18", errors)) {
      tier.threshold = *th;
      if (below && tier.threshold <= *below) {
        errors.push_back({at + "/threshold",
                          "must be greater than the threshold of the tier "
                          "below (" +
                              std::to_string(*below) + ")"});
      }
      below = tier.threshold;
    }
    if (t.contains("multiplier_bp")) {
      if (auto m = whole(t, "multiplier_bp", 1, kMaxMultiplier, at + "/multiplier_bp",
                         "must be whole basis points, 1 to 100000 (10000 = 1x)", errors)) {
        tier.multiplier_bp = static_cast<int>(*m);
      }
    }
    out.tiers.push_back(std::move(tier));
  }
  if (!errors.empty()) throw_invalid("the ladder is not valid", errors);
  return out;
}

}  // namespace

nlohmann::json to_json(const Ladder& l) {
  auto tiers = nlohmann::json::array();
  for (const auto& t : l.tiers) {
    tiers.push_back({{"id", t.id},
                     {"name", t.name},
                     {"rank", t.rank},
                     {"threshold", t.threshold},
                     {"multiplier_bp", t.multiplier_bp}});
  }
  if (!l.defined) {
    return {{"measure", nullptr},    {"window", nullptr}, {"window_days", nullptr},
            {"grace_days", nullptr}, {"tiers", tiers},    {"updated_at", nullptr}};
  }
  return {{"measure", l.measure},
          {"window", l.window},
          {"window_days", l.window_days ? nlohmann::json(*l.window_days) : nlohmann::json()},
          {"grace_days", l.grace_days},
          {"tiers", tiers},
          {"updated_at", l.updated_at}};
}

Ladder ladder(db::Database& database, const std::string& tenant_id) {
  return db::with_tenant(database, tenant_id,
                         [&](db::Tx& tx) { return read_ladder(tx, tenant_id); });
}

Ladder set_ladder(db::Database& database, const std::string& tenant_id, const nlohmann::json& body,
                  const Actor& actor) {
  Ladder wanted = parse_ladder(body);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    Ladder before = read_ladder(tx, tenant_id);
    std::vector<std::string> names;
    auto rows = nlohmann::json::array();
    for (const auto& t : wanted.tiers) {
      names.push_back(t.name);
      rows.push_back({{"name", t.name},
                      {"rank", t.rank},
                      {"threshold", t.threshold},
                      {"multiplier_bp", t.multiplier_bp}});
    }
    if (wanted.defined) {
      tx.exec(kUpsertPolicy, tenant_id, wanted.measure, wanted.window, wanted.window_days,
              wanted.grace_days);
    }
    tx.exec(kDeleteGone, tenant_id, db::text_array_literal(names));
    if (wanted.defined) {
      tx.exec(kUpsertTiers, tenant_id, rows.dump());
    } else {
      tx.exec(kDeletePolicy, tenant_id);
    }
    Ladder after = read_ladder(tx, tenant_id);
    audit::record(tx, tenant_id, actor, "tiers.set", "tier_ladder", tenant_id,
                  before.defined ? to_json(before) : nlohmann::json(),
                  after.defined ? to_json(after) : nlohmann::json());
    return after;
  });
}

nlohmann::json to_json(const CustomerTiers& t) {
  auto changes = nlohmann::json::array();
  for (const auto& c : t.changes) {
    changes.push_back(
        {{"id", c.id},
         {"from", c.from ? nlohmann::json(*c.from) : nlohmann::json()},
         {"to", c.to ? nlohmann::json(*c.to) : nlohmann::json()},
         {"reason", c.reason},
         {"measure", c.measure},
         {"event_id", c.event_id.empty() ? nlohmann::json() : nlohmann::json(c.event_id)},
         {"changed_at", c.changed_at}});
  }
  auto text = [](const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); };
  return {
      {"customer_id", t.customer_id}, {"tier", t.tier ? nlohmann::json(*t.tier) : nlohmann::json()},
      {"since", text(t.since)},       {"below_since", text(t.below_since)},
      {"measure", t.measure},         {"changes", changes}};
}

CustomerTiers customer_tiers(db::Database& database, const std::string& tenant_id,
                             const std::string& customer_id) {
  if (!is_uuid(customer_id)) throw_not_found("customer");
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto rows = tx.exec(kCustomer, tenant_id, customer_id);
    if (rows.empty()) throw_not_found("customer");
    CustomerTiers out;
    out.customer_id = customer_id;
    const auto& r = rows[0];
    if (!r["tier"].is_null()) out.tier = r["tier"].as<std::string>();
    out.since = r["since"].as<std::string>();
    out.below_since = r["below_since"].as<std::string>();
    out.measure = r["measure"].as<std::int64_t>();
    for (const auto& h : tx.exec(kHistory, tenant_id, customer_id)) {
      Change c;
      c.id = h["id"].as<std::int64_t>();
      if (!h["from_tier"].is_null()) c.from = h["from_tier"].as<std::string>();
      if (!h["to_tier"].is_null()) c.to = h["to_tier"].as<std::string>();
      c.reason = h["reason"].as<std::string>();
      c.measure = h["measure"].as<std::int64_t>();
      c.event_id = h["event_id"].as<std::string>();
      c.changed_at = h["changed_at"].as<std::string>();
      out.changes.push_back(std::move(c));
    }
    return out;
  });
}

}  // namespace loyalty::tiers
