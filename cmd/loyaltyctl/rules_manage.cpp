// loyaltyctl rules import|export: a tenant's stored rules, in the rule-definition format.
#include "commands.hpp"

#include <loyalty/core/actor.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/rules/limits.hpp>
#include <loyalty/rulesets/rulesets.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

namespace loyaltyctl {

namespace {

namespace rulesets = loyalty::rulesets;
using nlohmann::json;

std::string tenant_id(Context& ctx, const std::string& ref) {
  return loyalty::tenants::find_tenant(ctx.database(), ref).id;
}

json read_document(const std::string& path) {
  auto limits = loyalty::rules::Limits::for_definition_files();
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream file(path, std::ios::binary);
    if (!file) loyalty::throw_not_found("file " + path);
    text << file.rdbuf();
  }
  try {
    return loyalty::rules::parse_document(text.str(), limits);
  } catch (const loyalty::Error& e) {
    throw loyalty::Error(e.code(), e.type(), path + ": " + e.what(), e.fields());
  }
}

void print_names(const char* label, const std::vector<std::string>& names) {
  if (names.empty()) return;
  std::cout << label << ":\n";
  for (const auto& n : names) std::cout << "  " << n << "\n";
}

struct Options {
  std::string tenant, file, out;
  bool dry_run = false;
  bool replace = false;
};

void add_rules_manage_commands(CLI::App& app, Context& ctx) {
  CLI::App* group = rules_group(app);
  auto o = std::make_shared<Options>();

  auto* import = group->add_subcommand(
      "import",
      "load a tenant's rules from a definitions file, all or nothing: rules are matched by name "
      "and created or updated; reward, budget and campaign references are ids or names");
  import->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  import
      ->add_option("file", o->file,
                   "the rules file (one rule, an array, or {\"rules\": [...]}); "
                   "- reads stdin")
      ->required();
  import->add_flag("--dry-run", o->dry_run, "check against the tenant and report; write nothing");
  import->add_flag("--replace", o->replace,
                   "delete the tenant's rules that are not in the file (rules that issued "
                   "rewards are deactivated instead)");
  add_json_flag(import, ctx);
  import->callback([&ctx, o] {
    auto document = read_document(o->file);
  auto report =
      rulesets::import_rules(ctx.database(), tenant_id(ctx, o->tenant),
                             loyalty::Actor::operator_cli(), document, {o->dry_run, o->replace});
  if (ctx.json) {
    print_json(rulesets::to_json(report));
    return;
  }
  std::cout << (report.dry_run ? "dry run, nothing written: " : "") << report.created.size()
            << " created, " << report.updated.size() << " updated, " << report.unchanged.size()
            << " unchanged, " << report.deleted.size() << " deleted, " << report.deactivated.size()
            << " deactivated\n";
  print_names("created", report.created);
  print_names("updated", report.updated);
  print_names("deleted", report.deleted);
  print_names("deactivated", report.deactivated);
});

auto* exporter = group->add_subcommand(
    "export", "write a tenant's rules in the format rules import reads (references as names)");
exporter->add_option("--tenant", o->tenant, "tenant id or slug")->required();
exporter->add_option("--out", o->out, "write to FILE instead of stdout");
exporter->callback([&ctx, o] {
  auto document = rulesets::export_rules(ctx.database(), tenant_id(ctx, o->tenant));
  if (o->out.empty()) {
    print_json(document);
    return;
  }
  std::ofstream file(o->out, std::ios::binary | std::ios::trunc);
  if (!file || !(file << document.dump(2) << "\n") || !file.flush()) {
    throw loyalty::Error(loyalty::ErrorCode::unavailable, "write-failed", "cannot write " + o->out);
  }
});
}  // namespace

// After the rules group (50), whose rules_group() this joins.
const CommandGroup kRulesManage(55, add_rules_manage_commands);

}  // namespace loyaltyctl

}  // namespace loyaltyctl
