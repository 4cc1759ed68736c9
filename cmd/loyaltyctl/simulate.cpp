// loyaltyctl rules simulate: evaluate an event against a tenant's current rules and data,
// writing nothing.
#include "commands.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

namespace loyaltyctl {

namespace {

void add_simulate_command(CLI::App& app, Context& ctx) {
  auto* group = rules_group(app);
  struct Options {
    std::string tenant, file;
  };
  auto o = std::make_shared<Options>();
  auto* simulate = group->add_subcommand(
      "simulate",
      "show which rules an event would match and whether each would issue; writes nothing");
  simulate->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  simulate->add_option("--event", o->file, "event JSON as POSTed to /events ('-' for stdin)")
      ->required();
  add_json_flag(simulate, ctx);
  simulate->callback([&ctx, o] {
    std::stringstream text;
    if (o->file == "-") {
      text << std::cin.rdbuf();
    } else {
      std::ifstream in(o->file);
      if (!in) loyalty::throw_invalid("cannot read " + o->file);
      text << in.rdbuf();
    }
    nlohmann::json event = nlohmann::json::parse(text.str(), nullptr, false);
    if (event.is_discarded() || !event.is_object()) {
      loyalty::throw_invalid(o->file + " is not a JSON object");
    }
    auto tenant = loyalty::tenants::find_tenant(ctx.database(), o->tenant);
    auto result = loyalty::events::simulate_event(ctx.database(), tenant.id, event);
    if (ctx.json) {
      print_json(result);
      return;
    }
    if (!result["customer_known"].get<bool>()) std::cout << "(customer unknown: treated as new)\n";
    for (const auto& r : result["rules"]) {
      std::cout << (r["matches"].get<bool>() ? "match    " : "no match ")
                << r["rule"].get<std::string>();
      if (r["matches"].get<bool>()) {
        std::cout << (r["would_issue"].get<bool>()
                          ? "  -> would issue"
                          : "  -> would not issue: " + r["reason"].get<std::string>());
      }
      std::cout << "\n";
    }
    // A reason without a rule: the pipeline evaluates no rule for this customer or tenant.
    for (const auto& n : result["not_issued"]) {
      if (!n.contains("rule_id")) {
        std::cout << "no rule evaluated: " << n["reason"].get<std::string>() << "\n";
        return;
      }
    }
    if (result["rules"].empty()) std::cout << "no active rule for this event type\n";
  });
}

const CommandGroup kSimulate(55, add_simulate_command);

}  // namespace

}  // namespace loyaltyctl
