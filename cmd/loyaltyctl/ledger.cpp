// loyaltyctl ledger export|verify
#include "commands.hpp"

#include <loyalty/budgets/budgets.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>

namespace loyaltyctl {

namespace {

namespace budgets = loyalty::budgets;
using nlohmann::json;

std::string tenant_id(Context& ctx, const std::string& ref) {
  return loyalty::tenants::find_tenant(ctx.database(), ref).id;
}

struct LedgerOptions {
  std::string tenant, from, to, format = "csv", out, budget, type;
};

void add_ledger_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("ledger", "the budget ledger: export and verify");
  group->require_subcommand(1);
  auto o = std::make_shared<LedgerOptions>();

  auto* exporter = group->add_subcommand(
      "export", "stream a tenant's ledger movements as CSV (RFC 4180, with a header) or JSONL");
  exporter->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  exporter->add_option("--from", o->from,
                       "first day (YYYY-MM-DD in the tenant's time zone) or RFC 3339 instant");
  exporter->add_option("--to", o->to, "last day (inclusive) or RFC 3339 instant (exclusive)");
  exporter->add_option("--format", o->format, "csv or jsonl")
      ->check(CLI::IsMember({"csv", "jsonl"}))
      ->capture_default_str();
  exporter->add_option("--out", o->out, "write to FILE instead of stdout");
  exporter->add_option("--budget", o->budget, "only this budget (id or name)");
  exporter->add_option("--type", o->type, "only movements of this kind (topup, reserve, ...)");
  exporter->callback([&ctx, o] {
    budgets::LedgerFilter filter{o->budget, o->type, o->from, o->to};
    auto format = o->format == "jsonl" ? budgets::ExportFormat::jsonl : budgets::ExportFormat::csv;
    auto tid = tenant_id(ctx, o->tenant);
    if (o->out.empty()) {
      std::ios::sync_with_stdio(false);
      budgets::export_ledger(ctx.database(), tid, filter, format, std::cout);
      return;
    }
    // Write beside the target and rename, so a failed export never leaves half a file.
    std::string partial = o->out + ".partial";
    std::int64_t rows = 0;
    {
      std::ofstream file(partial, std::ios::binary | std::ios::trunc);
      if (!file) {
        throw loyalty::Error(loyalty::ErrorCode::invalid, "validation-failed",
                             "cannot write " + o->out);
      }
      try {
        rows = budgets::export_ledger(ctx.database(), tid, filter, format, file);
      } catch (...) {
        file.close();
        std::remove(partial.c_str());
        throw;
      }
      if (!file.flush()) {
        std::remove(partial.c_str());
        throw loyalty::Error(loyalty::ErrorCode::unavailable, "write-failed",
                             "writing " + o->out + " failed");
      }
    }
    if (std::rename(partial.c_str(), o->out.c_str()) != 0) {
      throw loyalty::Error(loyalty::ErrorCode::unavailable, "write-failed",
                           "cannot rename " + partial + " to " + o->out);
    }
    std::cerr << "exported " << rows << " movements to " << o->out << "\n";
  });

  auto* verify = group->add_subcommand(
      "verify",
      "check the ledger invariants (balanced movements, counters equal their ledger, hard caps, "
      "customers' points balances equal their points ledger); exits 4 naming each budget or "
      "customer that fails");
  verify->add_option("--tenant", o->tenant, "only this tenant (id or slug); default all");
  add_json_flag(verify, ctx);
  verify->callback([&ctx, o] {
    auto tid = o->tenant.empty() ? std::string() : tenant_id(ctx, o->tenant);
    auto report = budgets::verify_ledger(ctx.database(), tid);
    if (ctx.json) {
      auto problems = json::array();
      for (const auto& p : report.problems) {
        json problem = {{"tenant_id", p.tenant_id}, {"tenant", p.tenant_slug}};
        if (p.customer_id.empty()) {
          problem["budget_id"] = p.budget_id;
          problem["budget"] = p.budget_name;
        } else {
          problem["customer_id"] = p.customer_id;
        }
        problem["problem"] = p.message;
        problems.push_back(problem);
      }
      print_json({{"ok", report.ok()},
                  {"budgets", report.budgets},
                  {"movements", report.movements},
                  {"customers", report.customers},
                  {"points_movements", report.points_movements},
                  {"points_lots", report.points_lots},
                  {"problems", problems}});
    } else {
      for (const auto& p : report.problems) {
        if (p.customer_id.empty()) {
          std::cout << p.tenant_slug << "/" << p.budget_name << " (" << p.budget_id
                    << "): " << p.message << "\n";
        } else {
          std::cout << p.tenant_slug << "/customer " << p.customer_id << ": " << p.message << "\n";
        }
      }
      if (report.ok()) {
        std::cout << "ledger ok: " << report.budgets << " budgets, " << report.movements
                  << " movements; points: " << report.customers << " customers, "
                  << report.points_movements << " movements, " << report.points_lots << " lots\n";
      }
    }
    if (!report.ok()) {
      std::string names;
      for (const auto& p : report.problems) {
        std::string name = p.tenant_slug + "/" +
                           (p.customer_id.empty() ? p.budget_name : "customer " + p.customer_id);
        if (names.find(name) == std::string::npos) names += (names.empty() ? "" : ", ") + name;
      }
      throw loyalty::Error(loyalty::ErrorCode::conflict, "ledger-mismatch",
                           "ledger verification failed for " + names);
    }
  });
}

const CommandGroup kLedger(44, add_ledger_commands);

}  // namespace

}  // namespace loyaltyctl
