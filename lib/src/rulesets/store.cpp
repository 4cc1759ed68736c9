// Stored rules: CRUD, import and export, with references resolved within the tenant.
#include "audit/audit.hpp"
#include "catalog/fields.hpp"
#include "catalog/refs.hpp"
#include "rulesets/rule_rows.hpp"

#include <loyalty/rules/engine.hpp>
#include <loyalty/rulesets/rulesets.hpp>

#include <algorithm>
#include <map>
#include <regex>
#include <set>

namespace loyalty::rulesets {

namespace {

using nlohmann::json;

const std::string kOneSql = std::string("SELECT ") + kRuleColumns + " FROM rules r " + kRuleJoins +
                            " WHERE r.tenant_id = $1 AND r.id = $2::uuid";
const db::Query kOne{"rule_one", kOneSql.c_str()};
const std::string kAllSql = std::string("SELECT ") + kRuleColumns + " FROM rules r " + kRuleJoins +
                            " WHERE r.tenant_id = $1 ORDER BY r.name, r.id";
const db::Query kAll{"rule_all", kAllSql.c_str()};
const std::string kListSql =
    std::string("SELECT ") + kRuleColumns + " FROM rules r " + kRuleJoins +
    " WHERE r.tenant_id = $1 AND ($2 = '' OR r.event_type = $2) "
    "AND (nullif($3, '') IS NULL OR r.campaign_id = nullif($3, '')::uuid) "
    "AND (nullif($4, '') IS NULL OR r.active = nullif($4, '')::boolean) "
    "AND (nullif($5, '') IS NULL OR (r.name, r.id) > ($5, nullif($6, '')::uuid)) "
    "ORDER BY r.name, r.id LIMIT $7";
const db::Query kList{"rule_list", kListSql.c_str()};
const db::Query kNameTaken{
    "rule_name_taken",
    "SELECT EXISTS (SELECT 1 FROM rules WHERE tenant_id = $1 AND name = $2 AND id::text <> $3)"};
const db::Query kInsert{
    "rule_insert",
    "INSERT INTO rules (tenant_id, name, description, event_type, conditions, reward_id, "
    "budget_id, campaign_id, per_customer_max, per_customer_period, global_max, global_period, "
    "cooldown_seconds, priority, active, valid_from, valid_until, stop_processing) "
    "VALUES ($1, $2, $3, $4, $5::jsonb, $6::uuid, nullif($7, '')::uuid, nullif($8, '')::uuid, "
    "nullif($9, '')::int, nullif($10, ''), nullif($11, '')::int, nullif($12, ''), "
    "nullif($13, '')::int, $14, $15, nullif($16, '')::timestamptz, "
    "nullif($17, '')::timestamptz, $18) RETURNING id::text"};
const db::Query kUpdate{
    "rule_update",
    "UPDATE rules SET name = $3, description = $4, event_type = $5, conditions = $6::jsonb, "
    "reward_id = $7::uuid, budget_id = nullif($8, '')::uuid, campaign_id = nullif($9, '')::uuid, "
    "per_customer_max = nullif($10, '')::int, per_customer_period = nullif($11, ''), "
    "global_max = nullif($12, '')::int, global_period = nullif($13, ''), "
    "cooldown_seconds = nullif($14, '')::int, priority = $15, active = $16, "
    "valid_from = nullif($17, '')::timestamptz, valid_until = nullif($18, '')::timestamptz, "
    "stop_processing = $19, updated_at = now() WHERE tenant_id = $1 AND id = $2::uuid"};
const db::Query kDelete{"rule_delete", "DELETE FROM rules WHERE tenant_id = $1 AND id = $2::uuid"};
const db::Query kDeactivate{"rule_deactivate",
                            "UPDATE rules SET active = false, updated_at = now() "
                            "WHERE tenant_id = $1 AND id = $2::uuid"};
const db::Query kInUse{
    "rule_in_use",
    "SELECT EXISTS (SELECT 1 FROM issuances WHERE tenant_id = $1 AND rule_id = $2::uuid)"};
const db::Query kRewardInfo{"rule_reward_info",
                            "SELECT name, currency, budget_id::text FROM rewards "
                            "WHERE tenant_id = $1 AND id = $2::uuid"};
const db::Query kBudgetInfo{
    "rule_budget_info",
    "SELECT name, currency FROM budgets WHERE tenant_id = $1 AND id = $2::uuid"};
const db::Query kCampaignInfo{"rule_campaign_info",
                              "SELECT name, budget_id::text FROM campaigns "
                              "WHERE tenant_id = $1 AND id = $2::uuid"};

/// A rule resolved against the tenant: what a rules row holds.
struct Resolved {
  rules::RuleDefinition definition;  ///< references as canonical names
  std::string reward_id;
  std::string budget_id;    ///< "" for none
  std::string campaign_id;  ///< "" for none
  /// The budget an issuance reserves from: the rule's, else its campaign's, else its reward's
  /// ("" for none), as load_active_rules reads it.
  std::string effective_budget_id;
};

bool same_row(const Resolved& a, const StoredRule& b) {
  auto strip = [](rules::RuleDefinition d) {
    d.reward.clear();
    d.budget.reset();
    d.campaign.reset();
    return d;
  };
  return strip(a.definition) == strip(b.definition) && a.reward_id == b.reward_id &&
         a.budget_id == b.budget_id.value_or("") && a.campaign_id == b.campaign_id.value_or("");
}

std::string at(const std::string& base, const char* field) { return base + "/" + field; }

/// Resolves the references of one raw rule object (whatever else is wrong with it), recording
/// problems at `base` + "/reward" etc. Returns the ids found.
Resolved resolve_references(db::Tx& tx, const std::string& tenant_id, const json& item,
                            const std::string& base, std::vector<FieldError>& errors) {
  Resolved out;
  if (!item.is_object()) return out;
  auto text_field = [&](const char* name) -> std::optional<std::string> {
    auto it = item.find(name);
    if (it == item.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
      return std::nullopt;
    }
    return it->get<std::string>();
  };
  // The rules table's event type is stricter than the engine's.
  if (auto type = text_field("event_type")) {
    static const std::regex kEventType("^[a-z][a-z0-9_.]{0,63}$");
    if (!std::regex_match(*type, kEventType)) {
      errors.push_back({at(base, "event_type"),
                        "must start with a lowercase letter and use only a-z, 0-9, '_' and '.'"});
    }
  }
  std::string reward_currency;
  std::string reward_budget;
  if (auto reward = text_field("reward")) {
    if (auto id = catalog::find_id(tx, tenant_id, catalog::Entity::reward, *reward)) {
      out.reward_id = *id;
      auto r = tx.exec1(kRewardInfo, tenant_id, *id);
      out.definition.reward = r[0].as<std::string>();
      reward_currency = r[1].as<std::string>();
      reward_budget = r[2].is_null() ? "" : r[2].as<std::string>();
    } else {
      errors.push_back({at(base, "reward"), "no reward '" + *reward + "' in this tenant"});
    }
  }
  std::string campaign_budget;
  if (auto campaign = text_field("campaign")) {
    if (auto id = catalog::find_id(tx, tenant_id, catalog::Entity::campaign, *campaign)) {
      out.campaign_id = *id;
      auto c = tx.exec1(kCampaignInfo, tenant_id, *id);
      out.definition.campaign = c[0].as<std::string>();
      campaign_budget = c[1].is_null() ? "" : c[1].as<std::string>();
    } else {
      errors.push_back({at(base, "campaign"), "no campaign '" + *campaign + "' in this tenant"});
    }
  }
  if (auto budget = text_field("budget")) {
    if (auto id = catalog::find_id(tx, tenant_id, catalog::Entity::budget, *budget)) {
      out.budget_id = *id;
      out.definition.budget = tx.exec1(kBudgetInfo, tenant_id, *id)[0].as<std::string>();
    } else {
      errors.push_back({at(base, "budget"), "no budget '" + *budget + "' in this tenant"});
    }
  }
  // The budget an issuance would reserve from must be in the reward's currency.
  std::string effective = !out.budget_id.empty()     ? out.budget_id
                          : !campaign_budget.empty() ? campaign_budget
                                                     : reward_budget;
  out.effective_budget_id = effective;
  if (!effective.empty() && !reward_currency.empty()) {
    auto b = tx.exec1(kBudgetInfo, tenant_id, effective);
    auto currency = b[1].as<std::string>();
    if (currency != reward_currency) {
      errors.push_back({at(base, out.budget_id.empty() ? "reward" : "budget"),
                        "budget '" + b[0].as<std::string>() + "' is in " + currency +
                            " but reward '" + out.definition.reward + "' costs " +
                            reward_currency});
    }
  }
  return out;
}

/// The document's rule objects with the pointer of each.
std::vector<std::pair<const json*, std::string>> items_of(const json& document) {
  std::vector<std::pair<const json*, std::string>> out;
  if (document.is_object() && document.contains("rules")) {
    const auto& list = document["rules"];
    if (list.is_array()) {
      for (std::size_t i = 0; i < list.size(); ++i) {
        out.emplace_back(&list[i], "/rules/" + std::to_string(i));
      }
    }
  } else if (document.is_array()) {
    for (std::size_t i = 0; i < document.size(); ++i) {
      out.emplace_back(&document[i], "/" + std::to_string(i));
    }
  } else if (document.is_object()) {
    out.emplace_back(&document, "");
  }
  return out;
}

[[noreturn]] void throw_rule_errors(std::vector<FieldError> errors) {
  std::string detail =
      std::to_string(errors.size()) + " problem" + (errors.size() == 1 ? "" : "s") +
      " in the rule definitions; first: " + (errors[0].pointer.empty() ? "/" : errors[0].pointer) +
      " " + errors[0].message;
  throw_invalid(detail, std::move(errors));
}

/// Validates a document with the engine and against the tenant. Throws Error(invalid) with
/// every problem; otherwise returns the rules resolved, in document order.
std::vector<Resolved> check_document(db::Tx& tx, const std::string& tenant_id,
                                     const json& document) {
  auto check = rules::check_definitions(document);
  auto errors = check.errors;
  auto items = items_of(document);
  std::vector<Resolved> resolved;
  for (const auto& [item, base] : items) {
    resolved.push_back(resolve_references(tx, tenant_id, *item, base, errors));
  }
  if (!errors.empty()) throw_rule_errors(std::move(errors));
  // No errors: every item is a valid rule, in order.
  for (std::size_t i = 0; i < resolved.size(); ++i) {
    auto names = resolved[i].definition;
    resolved[i].definition = check.rules.at(i);
    resolved[i].definition.reward = names.reward;
    resolved[i].definition.budget = names.budget;
    resolved[i].definition.campaign = names.campaign;
  }
  return resolved;
}

/// The columns of a resolved rule as the $n text parameters the statements take.
struct Params {
  std::string per_customer_max, per_customer_period, global_max, global_period, cooldown;
  std::string valid_from, valid_until;
};

Params params_of(const rules::RuleDefinition& d) {
  Params p;
  if (d.caps.per_customer) {
    p.per_customer_max = std::to_string(d.caps.per_customer->max);
    p.per_customer_period = std::string(rules::to_string(d.caps.per_customer->period));
  }
  if (d.caps.global) {
    p.global_max = std::to_string(d.caps.global->max);
    p.global_period = std::string(rules::to_string(d.caps.global->period));
  }
  if (d.caps.cooldown) p.cooldown = std::to_string(*d.caps.cooldown);
  if (d.valid_from) p.valid_from = rules::format_timestamp(*d.valid_from);
  if (d.valid_until) p.valid_until = rules::format_timestamp(*d.valid_until);
  return p;
}

std::string insert_rule(db::Tx& tx, const std::string& tenant_id, const Resolved& r) {
  const auto& d = r.definition;
  auto p = params_of(d);
  return tx
      .exec1(kInsert, tenant_id, d.name, d.description, d.event_type, d.conditions.dump(),
             r.reward_id, r.budget_id, r.campaign_id, p.per_customer_max, p.per_customer_period,
             p.global_max, p.global_period, p.cooldown, d.priority, d.active, p.valid_from,
             p.valid_until, d.stop_processing)[0]
      .as<std::string>();
}

void update_row(db::Tx& tx, const std::string& tenant_id, const std::string& id,
                const Resolved& r) {
  const auto& d = r.definition;
  auto p = params_of(d);
  tx.exec(kUpdate, tenant_id, id, d.name, d.description, d.event_type, d.conditions.dump(),
          r.reward_id, r.budget_id, r.campaign_id, p.per_customer_max, p.per_customer_period,
          p.global_max, p.global_period, p.cooldown, d.priority, d.active, p.valid_from,
          p.valid_until, d.stop_processing);
}

StoredRule load(db::Tx& tx, const std::string& tenant_id, const std::string& id) {
  auto rows = tx.exec(kOne, tenant_id, id);
  if (rows.empty()) throw_not_found("rule '" + id + "'");
  return rule_from_row(rows[0]);
}

void ensure_name_free(db::Tx& tx, const std::string& tenant_id, const std::string& name,
                      const std::string& id) {
  if (tx.exec1(kNameTaken, tenant_id, name, id)[0].as<bool>()) {
    throw_conflict("rule-name-taken", "a rule named '" + name + "' already exists");
  }
}

Resolved check_single(db::Tx& tx, const std::string& tenant_id, const json& definition) {
  if (!definition.is_object() || definition.contains("rules")) {
    throw_invalid("expected one rule object", {{"", "must be a rule object"}});
  }
  return check_document(tx, tenant_id, definition).at(0);
}

}  // namespace

StoredRule rule_from_row(const pqxx::row& r) {
  StoredRule s;
  s.id = r[0].as<std::string>();
  auto& d = s.definition;
  d.name = r[1].as<std::string>();
  d.description = r[2].as<std::string>();
  d.event_type = r[3].as<std::string>();
  d.conditions = json::parse(r[4].as<std::string>());
  s.reward_id = r[5].as<std::string>();
  d.reward = r[6].as<std::string>();
  s.budget_id = catalog::optional_text(r[7]);
  d.budget = catalog::optional_text(r[8]);
  s.campaign_id = catalog::optional_text(r[9]);
  d.campaign = catalog::optional_text(r[10]);
  if (!r[11].is_null()) {
    d.caps.per_customer =
        rules::Cap{r[11].as<std::int64_t>(), *rules::parse_cap_period(r[12].as<std::string>())};
  }
  if (!r[13].is_null()) {
    d.caps.global =
        rules::Cap{r[13].as<std::int64_t>(), *rules::parse_cap_period(r[14].as<std::string>())};
  }
  if (!r[15].is_null()) d.caps.cooldown = r[15].as<std::int64_t>();
  d.priority = r[16].as<std::int32_t>();
  d.active = r[17].as<bool>();
  if (!r[18].is_null()) d.valid_from = rules::parse_timestamp(r[18].as<std::string>());
  if (!r[19].is_null()) d.valid_until = rules::parse_timestamp(r[19].as<std::string>());
  d.stop_processing = r[20].as<bool>();
  s.created_at = r[21].as<std::string>();
  s.updated_at = r[22].as<std::string>();
  return s;
}

nlohmann::json to_json(const StoredRule& rule) {
  json out = rules::to_json(rule.definition);
  out["id"] = rule.id;
  out["reward_id"] = rule.reward_id;
  out["budget_id"] = rule.budget_id ? json(*rule.budget_id) : json(nullptr);
  out["campaign_id"] = rule.campaign_id ? json(*rule.campaign_id) : json(nullptr);
  out["created_at"] = rule.created_at;
  out["updated_at"] = rule.updated_at;
  return out;
}

nlohmann::json to_json(const ImportReport& report) {
  return {{"dry_run", report.dry_run}, {"created", report.created},
          {"updated", report.updated}, {"unchanged", report.unchanged},
          {"deleted", report.deleted}, {"deactivated", report.deactivated}};
}

StoredRule create_rule(db::Database& database, const std::string& tenant_id, const Actor& actor,
                       const nlohmann::json& definition) {
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    Resolved r = check_single(tx, tenant_id, definition);
    ensure_name_free(tx, tenant_id, r.definition.name, "");
    auto id = insert_rule(tx, tenant_id, r);
    StoredRule stored = load(tx, tenant_id, id);
    catalog::bump_rules_version(tx, tenant_id);
    audit::record(tx, tenant_id, actor, "rule.create", "rule", id, nullptr, to_json(stored));
    return stored;
  });
}

StoredRule update_rule(db::Database& database, const std::string& tenant_id, const Actor& actor,
                       const std::string& id_or_name, const nlohmann::json& patch) {
  if (!patch.is_object()) throw_invalid("the patch must be a JSON object", {{"", "not an object"}});
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto id = catalog::require_id(tx, tenant_id, catalog::Entity::rule, id_or_name);
    StoredRule before = load(tx, tenant_id, id);
    json merged = rules::to_json(before.definition);
    merged.merge_patch(patch);
    // JsonLogic is replaced whole: merging two operator objects would make nonsense.
    if (patch.contains("conditions") && !patch["conditions"].is_null()) {
      merged["conditions"] = patch["conditions"];
    }
    Resolved r = check_single(tx, tenant_id, merged);
    ensure_name_free(tx, tenant_id, r.definition.name, id);
    update_row(tx, tenant_id, id, r);
    StoredRule after = load(tx, tenant_id, id);
    catalog::bump_rules_version(tx, tenant_id);
    audit::record(tx, tenant_id, actor, "rule.update", "rule", id, to_json(before), to_json(after));
    return after;
  });
}

void delete_rule(db::Database& database, const std::string& tenant_id, const Actor& actor,
                 const std::string& id_or_name) {
  db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto id = catalog::require_id(tx, tenant_id, catalog::Entity::rule, id_or_name);
    StoredRule before = load(tx, tenant_id, id);
    if (tx.exec1(kInUse, tenant_id, id)[0].as<bool>()) {
      throw_conflict("rule-in-use",
                     "rule '" + before.definition.name +
                         "' has issued rewards and is kept for their history; set active to "
                         "false instead");
    }
    tx.exec(kDelete, tenant_id, id);
    catalog::bump_rules_version(tx, tenant_id);
    audit::record(tx, tenant_id, actor, "rule.delete", "rule", id, to_json(before), nullptr);
  });
}

StoredRule get_rule(db::Database& database, const std::string& tenant_id,
                    const std::string& id_or_name) {
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto id = catalog::require_id(tx, tenant_id, catalog::Entity::rule, id_or_name);
    return load(tx, tenant_id, id);
  });
}

std::vector<FieldError> check_rule(db::Database& database, const std::string& tenant_id,
                                   const nlohmann::json& definition) {
  if (!definition.is_object() || definition.contains("rules")) {
    return {{"", "must be one rule object"}};
  }
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto errors = rules::check_definitions(definition).errors;
    resolve_references(tx, tenant_id, definition, "", errors);
    return errors;
  });
}

ActiveRule resolve_draft(db::Database& database, const std::string& tenant_id,
                         const nlohmann::json& definition, const std::string& id) {
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    Resolved r = check_single(tx, tenant_id, definition);
    ActiveRule rule;
    rule.id = id.empty() ? "00000000-0000-0000-0000-000000000000"
                         : catalog::require_id(tx, tenant_id, catalog::Entity::rule, id);
    rule.definition = std::move(r.definition);
    rule.reward_id = r.reward_id;
    if (!r.campaign_id.empty()) rule.campaign_id = r.campaign_id;
    if (!r.effective_budget_id.empty()) rule.budget_id = r.effective_budget_id;
    rule.definition.reward = rule.reward_id;
    rule.definition.budget = rule.budget_id;
    rule.definition.campaign = rule.campaign_id;
    return rule;
  });
}

Page<StoredRule> list_rules(db::Database& database, const std::string& tenant_id,
                            const RuleFilter& filter, const PageRequest& page) {
  auto after = decode_keyed_cursor(page.cursor);
  std::string active = filter.active ? (*filter.active ? "true" : "false") : "";
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    std::string campaign_id;
    if (!filter.campaign.empty()) {
      campaign_id = catalog::require_id(tx, tenant_id, catalog::Entity::campaign, filter.campaign);
    }
    return fill_page<StoredRule>(tx.exec(kList, tenant_id, filter.event_type, campaign_id, active,
                                         after.key, after.id, page.limit + 1),
                                 page.limit, rule_from_row, [](const StoredRule& r) {
                                   return CursorPosition{r.definition.name, r.id};
                                 });
  });
}

ImportReport import_rules(db::Database& database, const std::string& tenant_id, const Actor& actor,
                          const nlohmann::json& document, const ImportOptions& options) {
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto incoming = check_document(tx, tenant_id, document);
    std::map<std::string, StoredRule> existing;
    for (const auto& row : tx.exec(kAll, tenant_id)) {
      auto rule = rule_from_row(row);
      existing.emplace(rule.definition.name, std::move(rule));
    }
    ImportReport report;
    report.dry_run = options.dry_run;
    std::set<std::string> named;
    bool changed = false;
    for (const auto& r : incoming) {
      const auto& name = r.definition.name;
      named.insert(name);
      auto it = existing.find(name);
      if (it == existing.end()) {
        report.created.push_back(name);
        if (options.dry_run) continue;
        auto id = insert_rule(tx, tenant_id, r);
        audit::record(tx, tenant_id, actor, "rule.create", "rule", id, nullptr,
                      to_json(load(tx, tenant_id, id)));
        changed = true;
      } else if (same_row(r, it->second)) {
        report.unchanged.push_back(name);
      } else {
        report.updated.push_back(name);
        if (options.dry_run) continue;
        update_row(tx, tenant_id, it->second.id, r);
        audit::record(tx, tenant_id, actor, "rule.update", "rule", it->second.id,
                      to_json(it->second), to_json(load(tx, tenant_id, it->second.id)));
        changed = true;
      }
    }
    if (options.replace) {
      for (const auto& [name, rule] : existing) {
        if (named.count(name)) continue;
        bool in_use = tx.exec1(kInUse, tenant_id, rule.id)[0].as<bool>();
        if (in_use && !rule.definition.active) continue;  // already out of play
        (in_use ? report.deactivated : report.deleted).push_back(name);
        if (options.dry_run) continue;
        if (in_use) {
          tx.exec(kDeactivate, tenant_id, rule.id);
          audit::record(tx, tenant_id, actor, "rule.deactivate", "rule", rule.id, to_json(rule),
                        to_json(load(tx, tenant_id, rule.id)));
        } else {
          tx.exec(kDelete, tenant_id, rule.id);
          audit::record(tx, tenant_id, actor, "rule.delete", "rule", rule.id, to_json(rule),
                        nullptr);
        }
        changed = true;
      }
    }
    if (changed) catalog::bump_rules_version(tx, tenant_id);
    return report;
  });
}

nlohmann::json export_rules(db::Database& database, const std::string& tenant_id) {
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    json list = json::array();
    for (const auto& row : tx.exec(kAll, tenant_id)) {
      list.push_back(rules::to_json(rule_from_row(row).definition));
    }
    return json{{"rules", list}};
  });
}

}  // namespace loyalty::rulesets
