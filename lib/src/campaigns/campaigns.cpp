#include "audit/audit.hpp"
#include "catalog/fields.hpp"
#include "catalog/refs.hpp"

#include <loyalty/campaigns/campaigns.hpp>
#include <loyalty/rules/definition.hpp>

namespace loyalty::campaigns {

namespace {

using nlohmann::json;

constexpr const char* kColumns =
    "c.id::text, c.name, c.description, c.status, "
    "to_char(c.starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "to_char(c.ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), c.budget_id::text, "
    "to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

const std::string kOneSql =
    std::string("SELECT ") + kColumns + " FROM campaigns c WHERE c.tenant_id = $1 AND c.id = $2";
const db::Query kOne{"campaign_one", kOneSql.c_str()};
const std::string kListSql =
    std::string("SELECT ") + kColumns +
    " FROM campaigns c WHERE c.tenant_id = $1 AND ($2 = '' OR c.status = $2) "
    "AND (nullif($3, '') IS NULL OR (c.name, c.id) > ($3, nullif($4, '')::uuid)) "
    "ORDER BY c.name, c.id LIMIT $5";
const db::Query kList{"campaign_list", kListSql.c_str()};
const db::Query kNameTaken{
    "campaign_name_taken",
    "SELECT EXISTS (SELECT 1 FROM campaigns WHERE tenant_id = $1 AND name = $2 "
    "AND id::text <> $3)"};
const db::Query kInsert{
    "campaign_insert",
    "INSERT INTO campaigns (tenant_id, name, description, status, starts_at, ends_at, budget_id) "
    "VALUES ($1, $2, $3, $4, nullif($5, '')::timestamptz, nullif($6, '')::timestamptz, "
    "nullif($7, '')::uuid) RETURNING id::text"};
const db::Query kUpdate{
    "campaign_update",
    "UPDATE campaigns SET name = $3, description = $4, status = $5, "
    "starts_at = nullif($6, '')::timestamptz, ends_at = nullif($7, '')::timestamptz, "
    "budget_id = nullif($8, '')::uuid, updated_at = now() WHERE tenant_id = $1 AND id = $2"};

struct CampaignInput {
  std::string name;
  std::string description;
  std::string status;
  std::string starts_at;
  std::string ends_at;
  std::string budget;
};

CampaignInput check_campaign(const json& fields) {
  catalog::FieldReader in(fields);
  in.only({"name", "description", "status", "starts_at", "ends_at", "budget"});
  CampaignInput out;
  out.name = in.text("name", true).value_or("");
  out.description = in.description("description");
  out.status = in.choice("status", false, {"draft", "active", "paused", "ended"}).value_or("draft");
  out.starts_at = in.timestamp("starts_at").value_or("");
  out.ends_at = in.timestamp("ends_at").value_or("");
  if (!out.starts_at.empty() && !out.ends_at.empty() &&
      *rules::parse_timestamp(out.ends_at) <= *rules::parse_timestamp(out.starts_at)) {
    in.error("/ends_at", "must be later than starts_at");
  }
  out.budget = in.text("budget", false).value_or("");
  in.throw_if_errors("the campaign is not valid");
  return out;
}

bool allowed_transition(const std::string& from, const std::string& to) {
  if (from == to) return true;
  if (from == "draft") return to == "active" || to == "ended";
  if (from == "active") return to == "paused" || to == "ended";
  if (from == "paused") return to == "active" || to == "ended";
  return false;
}

Campaign row_to_campaign(const pqxx::row& r) {
  Campaign c;
  c.id = r[0].as<std::string>();
  c.name = r[1].as<std::string>();
  c.description = r[2].as<std::string>();
  c.status = r[3].as<std::string>();
  c.starts_at = catalog::optional_text(r[4]);
  c.ends_at = catalog::optional_text(r[5]);
  c.budget_id = catalog::optional_text(r[6]);
  c.created_at = r[7].as<std::string>();
  c.updated_at = r[8].as<std::string>();
  return c;
}

Campaign load(db::Tx& tx, const std::string& tenant_id, const std::string& id) {
  auto rows = tx.exec(kOne, tenant_id, id);
  if (rows.empty()) throw_not_found("campaign '" + id + "'");
  return row_to_campaign(rows[0]);
}

std::string resolve_budget(db::Tx& tx, const std::string& tenant_id, const CampaignInput& in) {
  if (in.budget.empty()) return "";
  auto id = catalog::find_id(tx, tenant_id, catalog::Entity::budget, in.budget);
  if (!id) {
    throw_invalid("the campaign is not valid: /budget not found",
                  {{"/budget", "no budget '" + in.budget + "' in this tenant"}});
  }
  return *id;
}

void ensure_name_free(db::Tx& tx, const std::string& tenant_id, const std::string& name,
                      const std::string& id) {
  if (tx.exec1(kNameTaken, tenant_id, name, id)[0].as<bool>()) {
    throw_conflict("campaign-name-taken", "a campaign named '" + name + "' already exists");
  }
}

json to_input(const Campaign& c) {
  json out = {{"name", c.name}, {"description", c.description}, {"status", c.status}};
  if (c.starts_at) out["starts_at"] = *c.starts_at;
  if (c.ends_at) out["ends_at"] = *c.ends_at;
  if (c.budget_id) out["budget"] = *c.budget_id;
  return out;
}

}  // namespace

nlohmann::json to_json(const Campaign& c) {
  auto opt = [](const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); };
  return {{"id", c.id},
          {"name", c.name},
          {"description", c.description},
          {"status", c.status},
          {"starts_at", opt(c.starts_at)},
          {"ends_at", opt(c.ends_at)},
          {"budget_id", opt(c.budget_id)},
          {"created_at", c.created_at},
          {"updated_at", c.updated_at}};
}

Campaign create_campaign(db::Database& database, const std::string& tenant_id, const Actor& actor,
                         const nlohmann::json& fields) {
  CampaignInput in = check_campaign(fields);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto budget_id = resolve_budget(tx, tenant_id, in);
    ensure_name_free(tx, tenant_id, in.name, "");
    auto id = tx.exec1(kInsert, tenant_id, in.name, in.description, in.status, in.starts_at,
                       in.ends_at, budget_id)[0]
                  .as<std::string>();
    Campaign c = load(tx, tenant_id, id);
    catalog::bump_rules_version(tx, tenant_id);
    audit::record(tx, tenant_id, actor, "campaign.create", "campaign", id, nullptr, to_json(c));
    return c;
  });
}

Campaign update_campaign(db::Database& database, const std::string& tenant_id, const Actor& actor,
                         const std::string& id_or_name, const nlohmann::json& patch) {
  if (!patch.is_object()) throw_invalid("the patch must be a JSON object", {{"", "not an object"}});
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto id = catalog::require_id(tx, tenant_id, catalog::Entity::campaign, id_or_name);
    Campaign before = load(tx, tenant_id, id);
    json merged = to_input(before);
    merged.merge_patch(patch);
    CampaignInput in = check_campaign(merged);
    if (!allowed_transition(before.status, in.status)) {
      throw_conflict("invalid-transition", "a campaign cannot go from " + before.status + " to " +
                                               in.status +
                                               " (draft -> active <-> paused -> ended)");
    }
    auto budget_id = resolve_budget(tx, tenant_id, in);
    ensure_name_free(tx, tenant_id, in.name, id);
    tx.exec(kUpdate, tenant_id, id, in.name, in.description, in.status, in.starts_at, in.ends_at,
            budget_id);
    Campaign after = load(tx, tenant_id, id);
    catalog::bump_rules_version(tx, tenant_id);
    audit::record(tx, tenant_id, actor, "campaign.update", "campaign", id, to_json(before),
                  to_json(after));
    return after;
  });
}

Campaign get_campaign(db::Database& database, const std::string& tenant_id,
                      const std::string& id_or_name) {
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto id = catalog::require_id(tx, tenant_id, catalog::Entity::campaign, id_or_name);
    return load(tx, tenant_id, id);
  });
}

Page<Campaign> list_campaigns(db::Database& database, const std::string& tenant_id,
                              const std::string& status, const PageRequest& page) {
  if (!status.empty() && status != "draft" && status != "active" && status != "paused" &&
      status != "ended") {
    throw_invalid("the status filter is not valid",
                  {{"/status", "must be one of draft, active, paused, ended"}});
  }
  auto after = decode_keyed_cursor(page.cursor);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    return fill_page<Campaign>(
        tx.exec(kList, tenant_id, status, after.key, after.id, page.limit + 1), page.limit,
        row_to_campaign, [](const Campaign& c) {
          return CursorPosition{c.name, c.id};
        });
  });
}

}  // namespace loyalty::campaigns
