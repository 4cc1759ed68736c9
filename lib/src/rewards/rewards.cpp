// The reward catalogue: validation of each type's config, create/update/show/list.
#include "audit/audit.hpp"
#include "catalog/fields.hpp"
#include "catalog/refs.hpp"
#include "rewards/reward_rows.hpp"

#include <loyalty/rewards/rewards.hpp>
#include <loyalty/rules/definition.hpp>

#include <regex>

namespace loyalty::rewards {

namespace {

using nlohmann::json;

constexpr std::int64_t kMaxStock = 1'000'000'000;
constexpr std::int64_t kMaxValidityDays = 3650;
constexpr std::int64_t kMinGeneratedLength = 6;
constexpr std::int64_t kMaxGeneratedLength = 32;
constexpr std::size_t kMaxPrefix = 16;

/// A reward's columns, validated.
struct RewardInput {
  std::string name;
  std::string description;
  std::string type;
  json config = json::object();  ///< as stored: without stock and points
  MinorUnits cost = 0;
  std::string currency;
  std::string points;        ///< "" for NULL
  std::string points_price;  ///< "" for NULL: not claimable with points
  std::string stock;
  bool requires_pin = false;
  std::string valid_from;
  std::string valid_until;
  std::string validity_days;
  std::string budget;  ///< reference as given
  bool active = true;
};

/// Checks a type's config; records problems under /config; fills the stored config and the
/// points/stock columns.
void check_config(catalog::FieldReader& in, const std::string& type, const json& config,
                  RewardInput& out) {
  if (!config.is_object()) {
    in.error("/config", "must be a JSON object");
    return;
  }
  catalog::FieldReader c(config);
  auto relay = [&] {
    for (const auto& e : c.errors()) in.error("/config" + e.pointer, e.message);
  };
  if (type == "discount") {
    c.only({"kind", "percent", "amount"});
    auto kind = c.choice("kind", true, {"percent", "fixed"});
    if (kind == "percent") {
      if (c.has("amount")) c.error("/amount", "only for kind \"fixed\"");
      const auto& p = config.contains("percent") ? config["percent"] : json();
      if (!p.is_number() || p.get<double>() <= 0 || p.get<double>() > 100) {
        c.error("/percent", "required: a number greater than 0 and at most 100");
      } else {
        out.config = {{"kind", "percent"}, {"percent", p}};
      }
    } else if (kind == "fixed") {
      if (c.has("percent")) c.error("/percent", "only for kind \"percent\"");
      if (auto amount = c.amount("amount", true, 1)) {
        out.config = {{"kind", "fixed"}, {"amount", format_amount(*amount)}};
      }
    }
  } else if (type == "voucher") {
    c.only({"source", "length", "prefix"});
    auto source = c.choice("source", true, {"pool", "generated"});
    if (source == "pool") {
      if (c.has("length")) c.error("/length", "only for source \"generated\"");
      if (c.has("prefix")) c.error("/prefix", "only for source \"generated\"");
      out.config = {{"source", "pool"}};
    } else if (source == "generated") {
      auto length = c.integer("length", kMinGeneratedLength, kMaxGeneratedLength).value_or(10);
      std::string prefix;
      if (c.has("prefix")) {
        static const std::regex kPrefix("^[A-Z0-9_-]{1,16}$");
        if (!config["prefix"].is_string() ||
            !std::regex_match(config["prefix"].get<std::string>(), kPrefix)) {
          c.error("/prefix", "must be 1-" + std::to_string(kMaxPrefix) +
                                 " characters of A-Z, 0-9, '-' and '_'");
        } else {
          prefix = config["prefix"].get<std::string>();
        }
      }
      out.config = {{"source", "generated"}, {"length", length}};
      if (!prefix.empty()) out.config["prefix"] = prefix;
    }
  } else if (type == "points") {
    c.only({"points"});
    if (!c.has("points")) c.error("/points", "required: the points the reward credits");
    if (auto points = c.integer("points", 1, kMaxPoints)) out.points = std::to_string(*points);
    out.config = json::object();
  } else if (type == "physical") {
    c.only({"stock", "sku"});
    if (!c.has("stock")) c.error("/stock", "required: items in stock (0 or more)");
    if (auto stock = c.integer("stock", 0, kMaxStock)) out.stock = std::to_string(*stock);
    out.config = json::object();
    if (auto sku = c.text("sku", false, 100)) out.config["sku"] = *sku;
  }
  relay();
}

/// Validates a whole reward (create, or the result of a patch). Reference checks need the
/// database and happen in resolve().
RewardInput check_reward(const json& fields) {
  catalog::FieldReader in(fields);
  in.only({"name", "description", "type", "cost", "currency", "config", "valid_from", "valid_until",
           "validity_days", "budget", "requires_pin", "active", "points_price"});
  RewardInput out;
  out.name = in.text("name", true).value_or("");
  out.description = in.description("description");
  out.type = in.choice("type", true, {"discount", "voucher", "points", "physical"}).value_or("");
  out.cost = in.amount("cost", false).value_or(0);
  out.currency = in.currency("currency", true).value_or("");
  if (!out.type.empty()) {
    json config = fields.is_object() && fields.contains("config") && !fields["config"].is_null()
                      ? fields["config"]
                      : json::object();
    check_config(in, out.type, config, out);
  }
  out.valid_from = in.timestamp("valid_from").value_or("");
  out.valid_until = in.timestamp("valid_until").value_or("");
  if (!out.valid_from.empty() && !out.valid_until.empty() &&
      *rules::parse_timestamp(out.valid_until) <= *rules::parse_timestamp(out.valid_from)) {
    in.error("/valid_until", "must be later than valid_from");
  }
  if (auto days = in.integer("validity_days", 1, kMaxValidityDays)) {
    out.validity_days = std::to_string(*days);
  }
  out.budget = in.text("budget", false).value_or("");
  out.requires_pin = in.boolean("requires_pin").value_or(false);
  out.active = in.boolean("active").value_or(true);
  if (auto price = in.integer("points_price", 1, kMaxPoints)) {
    if (out.type == "points") {
      in.error("/points_price", "a points reward cannot be claimed with points");
    } else {
      out.points_price = std::to_string(*price);
    }
  }
  in.throw_if_errors("the reward is not valid");
  return out;
}

const db::Query kBudgetCurrency{"reward_budget_currency",
                                "SELECT currency FROM budgets WHERE tenant_id = $1 AND id = $2"};

/// Resolves the budget reference; checks its currency.
std::string resolve_budget(db::Tx& tx, const std::string& tenant_id, const RewardInput& in) {
  if (in.budget.empty()) return "";
  auto id = catalog::find_id(tx, tenant_id, catalog::Entity::budget, in.budget);
  if (!id) {
    throw_invalid("the reward is not valid: /budget not found",
                  {{"/budget", "no budget '" + in.budget + "' in this tenant"}});
  }
  auto currency = tx.exec1(kBudgetCurrency, tenant_id, *id)[0].as<std::string>();
  if (currency != in.currency) {
    throw_invalid(
        "the reward is not valid: /budget currency differs",
        {{"/budget", "the budget is in " + currency + " but the reward costs " + in.currency}});
  }
  return *id;
}

const std::string kSelectOne = std::string("SELECT ") + kRewardColumns + " FROM rewards r " +
                               kRewardPoolJoin + " WHERE r.tenant_id = $1 AND r.id = $2::uuid";
const db::Query kOne{"reward_one", kSelectOne.c_str()};
const db::Query kNameTaken{
    "reward_name_taken",
    "SELECT EXISTS (SELECT 1 FROM rewards WHERE tenant_id = $1 AND name = $2 "
    "AND id::text <> $3)"};
const db::Query kInsert{
    "reward_insert",
    "INSERT INTO rewards (tenant_id, name, description, type, config, cost_minor, currency, "
    "points, stock, requires_pin, valid_from, valid_until, validity_days, budget_id, active, "
    "points_price) "
    "VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, nullif($8, '')::bigint, nullif($9, '')::bigint, "
    "$10, nullif($11, '')::timestamptz, nullif($12, '')::timestamptz, nullif($13, '')::int, "
    "nullif($14, '')::uuid, $15, nullif($16, '')::bigint) RETURNING id::text"};
const db::Query kUpdate{
    "reward_update",
    "UPDATE rewards SET name = $3, description = $4, type = $5, config = $6::jsonb, "
    "cost_minor = $7, currency = $8, points = nullif($9, '')::bigint, "
    "stock = nullif($10, '')::bigint, requires_pin = $11, "
    "valid_from = nullif($12, '')::timestamptz, valid_until = nullif($13, '')::timestamptz, "
    "validity_days = nullif($14, '')::int, budget_id = nullif($15, '')::uuid, active = $16, "
    "points_price = nullif($17, '')::bigint, updated_at = now() WHERE tenant_id = $1 AND id = "
    "$2::uuid"};
const std::string kListSql =
    std::string("SELECT ") + kRewardColumns + " FROM rewards r " + kRewardPoolJoin +
    " WHERE r.tenant_id = $1 AND ($2 = '' OR r.type = $2) "
    "AND (nullif($3, '') IS NULL OR r.active = nullif($3, '')::boolean) "
    "AND (nullif($4, '') IS NULL OR (r.name, r.id) > ($4, nullif($5, '')::uuid)) "
    "ORDER BY r.name, r.id LIMIT $6";
const db::Query kList{"reward_list", kListSql.c_str()};

/// The fields of a reward in the input format, so a merge patch applies to what create takes.
json to_input(const Reward& r) {
  json out = {{"name", r.name},
              {"description", r.description},
              {"type", r.type},
              {"cost", format_amount(r.cost)},
              {"currency", r.currency},
              {"config", r.config},
              {"requires_pin", r.requires_pin},
              {"active", r.active}};
  if (r.valid_from) out["valid_from"] = *r.valid_from;
  if (r.valid_until) out["valid_until"] = *r.valid_until;
  if (r.validity_days) out["validity_days"] = *r.validity_days;
  if (r.budget_id) out["budget"] = *r.budget_id;
  if (r.points_price) out["points_price"] = *r.points_price;
  return out;
}

void ensure_name_free(db::Tx& tx, const std::string& tenant_id, const std::string& name,
                      const std::string& id) {
  if (tx.exec1(kNameTaken, tenant_id, name, id)[0].as<bool>()) {
    throw_conflict("reward-name-taken", "a reward named '" + name + "' already exists");
  }
}

}  // namespace

Reward row_to_reward(const pqxx::row& r) {
  Reward w;
  w.id = r[0].as<std::string>();
  w.name = r[1].as<std::string>();
  w.description = r[2].as<std::string>();
  w.type = r[3].as<std::string>();
  w.config = json::parse(r[4].as<std::string>());
  w.cost = r[5].as<MinorUnits>();
  w.currency = r[6].as<std::string>();
  if (!r[7].is_null()) w.points = r[7].as<std::int64_t>();
  if (!r[8].is_null()) w.stock = r[8].as<std::int64_t>();
  w.requires_pin = r[9].as<bool>();
  w.valid_from = catalog::optional_text(r[10]);
  w.valid_until = catalog::optional_text(r[11]);
  if (!r[12].is_null()) w.validity_days = r[12].as<std::int64_t>();
  w.budget_id = catalog::optional_text(r[13]);
  w.active = r[14].as<bool>();
  w.created_at = r[15].as<std::string>();
  w.updated_at = r[16].as<std::string>();
  if (w.type == "voucher") {
    w.pool =
        PoolStatus{r[17].as<std::int64_t>(), r[18].as<std::int64_t>(), r[19].as<std::int64_t>()};
  }
  if (!r[20].is_null()) w.points_price = r[20].as<std::int64_t>();
  // Counters live in columns; the config shows their current value.
  if (w.type == "points" && w.points) w.config["points"] = *w.points;
  if (w.type == "physical" && w.stock) w.config["stock"] = *w.stock;
  return w;
}

Reward load_reward(db::Tx& tx, const std::string& tenant_id, const std::string& id) {
  auto rows = tx.exec(kOne, tenant_id, id);
  if (rows.empty()) throw_not_found("reward '" + id + "'");
  return row_to_reward(rows[0]);
}

nlohmann::json to_json(const Reward& r) {
  auto opt = [](const auto& v) { return v ? json(*v) : json(nullptr); };
  json out = {{"id", r.id},
              {"name", r.name},
              {"description", r.description},
              {"type", r.type},
              {"config", r.config},
              {"cost", format_amount(r.cost)},
              {"currency", r.currency},
              {"requires_pin", r.requires_pin},
              {"valid_from", opt(r.valid_from)},
              {"valid_until", opt(r.valid_until)},
              {"validity_days", opt(r.validity_days)},
              {"budget_id", opt(r.budget_id)},
              {"points_price", opt(r.points_price)},
              {"active", r.active},
              {"created_at", r.created_at},
              {"updated_at", r.updated_at}};
  if (r.pool) {
    out["pool"] = {{"available", r.pool->available},
                   {"assigned", r.pool->assigned},
                   {"redeemed", r.pool->redeemed}};
  }
  return out;
}

Reward create_reward(db::Database& database, const std::string& tenant_id, const Actor& actor,
                     const nlohmann::json& fields) {
  RewardInput in = check_reward(fields);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto budget_id = resolve_budget(tx, tenant_id, in);
    ensure_name_free(tx, tenant_id, in.name, "");
    auto id = tx.exec1(kInsert, tenant_id, in.name, in.description, in.type, in.config.dump(),
                       in.cost, in.currency, in.points, in.stock, in.requires_pin, in.valid_from,
                       in.valid_until, in.validity_days, budget_id, in.active, in.points_price)[0]
                  .as<std::string>();
    Reward r = load_reward(tx, tenant_id, id);
    audit::record(tx, tenant_id, actor, "reward.create", "reward", id, nullptr, to_json(r));
    return r;
  });
}

Reward update_reward(db::Database& database, const std::string& tenant_id, const Actor& actor,
                     const std::string& id_or_name, const nlohmann::json& patch) {
  if (!patch.is_object()) throw_invalid("the patch must be a JSON object", {{"", "not an object"}});
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto id = catalog::require_id(tx, tenant_id, catalog::Entity::reward, id_or_name);
    Reward before = load_reward(tx, tenant_id, id);
    json merged = to_input(before);
    merged.merge_patch(patch);
    RewardInput in = check_reward(merged);
    auto budget_id = resolve_budget(tx, tenant_id, in);
    ensure_name_free(tx, tenant_id, in.name, id);
    tx.exec(kUpdate, tenant_id, id, in.name, in.description, in.type, in.config.dump(), in.cost,
            in.currency, in.points, in.stock, in.requires_pin, in.valid_from, in.valid_until,
            in.validity_days, budget_id, in.active, in.points_price);
    Reward after = load_reward(tx, tenant_id, id);
    // Whether a rule fires depends on its reward being active and within its dates.
    catalog::bump_rules_version(tx, tenant_id);
    audit::record(tx, tenant_id, actor, "reward.update", "reward", id, to_json(before),
                  to_json(after));
    return after;
  });
}

Reward get_reward(db::Database& database, const std::string& tenant_id,
                  const std::string& id_or_name) {
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto id = catalog::require_id(tx, tenant_id, catalog::Entity::reward, id_or_name);
    return load_reward(tx, tenant_id, id);
  });
}

Page<Reward> list_rewards(db::Database& database, const std::string& tenant_id,
                          const RewardFilter& filter, const PageRequest& page) {
  if (!filter.type.empty() && filter.type != "discount" && filter.type != "voucher" &&
      filter.type != "points" && filter.type != "physical") {
    throw_invalid("the type filter is not valid",
                  {{"/type", "must be one of discount, voucher, points, physical"}});
  }
  auto after = decode_keyed_cursor(page.cursor);
  std::string active = filter.active ? (*filter.active ? "true" : "false") : "";
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    return fill_page<Reward>(
        tx.exec(kList, tenant_id, filter.type, active, after.key, after.id, page.limit + 1),
        page.limit, row_to_reward, [](const Reward& r) {
          return CursorPosition{r.name, r.id};
        });
  });
}

}  // namespace loyalty::rewards
