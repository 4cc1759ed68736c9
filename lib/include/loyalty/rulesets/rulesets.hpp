#pragma once
// A tenant's stored rules: create, change, delete, import and export them in the rules engine's
// definition format (see <loyalty/rules/definition.hpp>), with reward, budget and campaign
// references checked against the tenant; and the active rule set the event pipeline evaluates.
//
// Every change bumps tenants.rules_version, which each daemon reads per event to know when its
// compiled rules are stale.

#include <loyalty/core/actor.hpp>
#include <loyalty/core/page.hpp>
#include <loyalty/rules/definition.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace loyalty::db {
class Database;
}

namespace loyalty::rulesets {

/// A stored rule: its definition, with reward, budget and campaign written as names, and ids.
struct StoredRule {
  std::string id;
  rules::RuleDefinition definition;
  std::string reward_id;
  std::optional<std::string> budget_id;
  std::optional<std::string> campaign_id;
  std::string created_at;
  std::string updated_at;
};

/// The definition's JSON plus id, reward_id, budget_id, campaign_id, created_at, updated_at.
nlohmann::json to_json(const StoredRule& rule);

/// Creates one rule from a definition object. Throws Error(invalid) listing every problem with
/// its pointer — the engine's checks of the definition and its JsonLogic, plus references that
/// are not a reward/budget/campaign of the tenant — and Error(conflict) for a name in use.
StoredRule create_rule(db::Database& db, const std::string& tenant_id, const Actor& actor,
                       const nlohmann::json& definition);

/// Applies a JSON merge patch to a rule's definition (except `conditions`, which a patch replaces
/// whole) and validates the result as create_rule.
StoredRule update_rule(db::Database& db, const std::string& tenant_id, const Actor& actor,
                       const std::string& id_or_name, const nlohmann::json& patch);

/// Deletes a rule. A rule that issued rewards is kept for their history: Error(conflict,
/// "rule-in-use"); deactivate it instead.
void delete_rule(db::Database& db, const std::string& tenant_id, const Actor& actor,
                 const std::string& id_or_name);

/// Throws Error(not_found).
StoredRule get_rule(db::Database& db, const std::string& tenant_id, const std::string& id_or_name);

/// Checks one rule definition as create_rule would — the engine's checks of the definition and
/// its JsonLogic, the references and their currencies — without writing anything: every problem
/// with its pointer relative to the definition (`/conditions/and/1/>=`, `/reward`); empty when
/// the rule is valid. Whether the name is in use is not checked (a rule being edited has it).
std::vector<FieldError> check_rule(db::Database& db, const std::string& tenant_id,
                                   const nlohmann::json& definition);

struct RuleFilter {
  std::string event_type;  ///< empty for any
  std::string campaign;    ///< id or name; empty for any
  std::optional<bool> active;
};

/// One page of the tenant's rules in name order.
Page<StoredRule> list_rules(db::Database& db, const std::string& tenant_id,
                            const RuleFilter& filter, const PageRequest& page);

struct ImportOptions {
  bool dry_run = false;  ///< validate against the tenant and report, write nothing
  bool replace = false;  ///< rules not in the document are deleted (or deactivated when in use)
};

/// What an import did (or would do, dry run), by rule name.
struct ImportReport {
  std::vector<std::string> created;
  std::vector<std::string> updated;
  std::vector<std::string> unchanged;
  std::vector<std::string> deleted;
  std::vector<std::string> deactivated;  ///< --replace on rules that issued rewards
  bool dry_run = false;
};

nlohmann::json to_json(const ImportReport& report);

/// Imports a document of rules (one rule, an array, or {"rules": [...]}) all-or-nothing: rules
/// are matched by name and created or updated; identical ones are left alone, so importing an
/// export changes nothing. Throws Error(invalid) with every problem's pointer in the document
/// (/rules/3/reward: no reward 'x' in this tenant) and then nothing is written.
ImportReport import_rules(db::Database& db, const std::string& tenant_id, const Actor& actor,
                          const nlohmann::json& document, const ImportOptions& options);

/// The tenant's rules as {"rules": [...]} in name order, references as names: the format
/// import_rules reads.
nlohmann::json export_rules(db::Database& db, const std::string& tenant_id);

/// A rule the event pipeline evaluates.
struct ActiveRule {
  std::string id;
  rules::RuleDefinition definition;  ///< reward, budget and campaign hold ids here
  std::string reward_id;
  /// The budget an issuance reserves from: the rule's, else its campaign's, else its reward's.
  std::optional<std::string> budget_id;
  std::optional<std::string> campaign_id;
};

struct ActiveRuleSet {
  std::int64_t version = 0;  ///< tenants.rules_version when loaded
  /// The earliest future instant (RFC 3339 UTC) at which a date makes a rule start or stop
  /// firing; a cache of this set is stale from then on, or once the version changes.
  std::optional<std::string> next_change;
  std::vector<ActiveRule> rules;  ///< priority descending, then name
};

/// A definition that is not stored (the rule builder's draft) as the event pipeline would
/// evaluate it: references resolved to ids, the budget its issuances would reserve from. `id` (or
/// name) is the stored rule it edits (its rewards count towards the draft's caps and cooldown) or
/// empty for a new rule (the nil uuid, which has issued nothing). Throws Error(invalid) as
/// create_rule does, Error(not_found) for an unknown `id`.
ActiveRule resolve_draft(db::Database& db, const std::string& tenant_id,
                         const nlohmann::json& definition, const std::string& id);

/// The rules that fire now (SQL app_now()): active, with an active reward, inside their own,
/// their reward's and their campaign's dates, and either without a campaign or in an active one
/// (rules of draft, paused and ended campaigns never fire).
ActiveRuleSet load_active_rules(db::Database& db, const std::string& tenant_id);

}  // namespace loyalty::rulesets
