// Budgets, their top-ups and the ledger.
#include "server.hpp"

#include <loyalty/budgets/budgets.hpp>
#include <loyalty/core/error.hpp>

#include <sstream>

namespace loyaltyd {

namespace {

void add_budget_routes(Server& server, App& app) {
  server.add({"POST", "/v1/tenants/{tid}/budgets", kAdmin,
              [&app](Request& req) {
                auto budget = loyalty::budgets::create_budget(
                    *app.db, req.tenant_id, actor_of(req),
                    req.json_body(
                        {"name", "currency", "total", "hard_cap", "period", "soft_cap_threshold"}));
                return Reply::json(201, loyalty::budgets::to_json(budget));
              },
              "create a budget"});
  server.add({"GET", "/v1/tenants/{tid}/budgets", kAnyUser,
              [&app](Request& req) {
                auto page = loyalty::budgets::list_budgets(
                    *app.db, req.tenant_id,
                    loyalty::make_page_request(req.query("limit"), req.query("cursor")));
                return Reply::json(200, page_json(page, [](const auto& b) {
                                     return loyalty::budgets::to_json(b);
                                   }));
              },
              "list budgets"});
  server.add({"GET", "/v1/tenants/{tid}/budgets/{id}", kAnyUser,
              [&app](Request& req) {
                return Reply::json(200, loyalty::budgets::to_json(loyalty::budgets::get_budget(
                                            *app.db, req.tenant_id, req.params["id"])));
              },
              "show a budget's counters"});
  server.add({"GET", "/v1/tenants/{tid}/budgets/{id}/series", kAnyUser,
              [&app](Request& req) {
                return Reply::json(
                    200, loyalty::budgets::to_json(loyalty::budgets::budget_series(
                             *app.db, req.tenant_id, req.params["id"],
                             {req.query("interval"), req.query("from"), req.query("to")})));
              },
              "a budget's movements and utilisation per local day, week or month"});
  server.add({"POST", "/v1/tenants/{tid}/budgets/{id}/topup", kAdmin,
              [&app](Request& req) {
                auto body = req.json_body({"amount", "reference"});
                auto result = loyalty::budgets::topup_budget(
                    *app.db, req.tenant_id, actor_of(req), req.params["id"],
                    required_string(body, "amount"), required_string(body, "reference"));
                return Reply::json(result.replayed ? 200 : 201,
                                   {{"budget", loyalty::budgets::to_json(result.budget)},
                                    {"movement_id", result.movement_id},
                                    {"amount", loyalty::format_amount(result.amount)},
                                    {"reference", body["reference"]},
                                    {"replayed", result.replayed}});
              },
              "top a budget up, idempotent by reference"});
  server.add({"GET", "/v1/tenants/{tid}/ledger", kAnyUser,
              [&app](Request& req) {
                loyalty::budgets::LedgerFilter filter{req.query("budget"), req.query("type"),
                                                      req.query("from"), req.query("to")};
                auto page = loyalty::budgets::list_ledger(
                    *app.db, req.tenant_id, filter,
                    loyalty::make_page_request(req.query("limit"), req.query("cursor")));
                return Reply::json(200, page_json(page, [](const auto& m) {
                                     return loyalty::budgets::to_json(m);
                                   }));
              },
              "list ledger movements, newest first"});
  server.add(
      {"GET", "/v1/tenants/{tid}/ledger/export", kAnyUser,
       [&app](Request& req) {
         loyalty::budgets::LedgerFilter filter{req.query("budget"), req.query("type"),
                                               req.query("from"), req.query("to")};
         const std::string format = req.query("format").empty() ? "csv" : req.query("format");
         if (format != "csv" && format != "jsonl") {
           loyalty::throw_invalid("the export format is not valid",
                                  {{"/format", "must be csv or jsonl"}});
         }
         std::ostringstream out;
         loyalty::budgets::export_ledger(*app.db, req.tenant_id, filter,
                                         format == "csv" ? loyalty::budgets::ExportFormat::csv
                                                         : loyalty::budgets::ExportFormat::jsonl,
                                         out);
         auto reply = Reply::text(
             200, out.str(), format == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson");
         reply.headers.emplace_back("Content-Disposition",
                                    "attachment; filename=\"ledger." + format + "\"");
         return reply;
       },
       "export ledger movements (oldest first) as CSV or JSON lines"});
}

const RouteGroup kBudgetRoutes(add_budget_routes);

}  // namespace

}  // namespace loyaltyd
