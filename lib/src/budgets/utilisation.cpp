#include "db/tx.hpp"

#include <loyalty/budgets/budgets.hpp>

namespace loyalty::budgets {

namespace {

const db::Query kMostUtilised{"budgets_metrics_utilisation", R"sql(
SELECT tenant, budget::text AS budget, utilisation, budgets
  FROM metrics_budget_utilisation($1)
)sql"};

}  // namespace

UtilisationTop most_utilised(db::Database& database, int limit) {
  return db::read_once(database, [&](db::Tx& tx) {
    UtilisationTop out;
    for (const auto& r : tx.exec(kMostUtilised, limit)) {
      out.top.push_back({r["tenant"].as<std::string>(), r["budget"].as<std::string>(),
                         r["utilisation"].as<double>()});
      out.funded_budgets = r["budgets"].as<long long>();
    }
    return out;
  });
}

}  // namespace loyalty::budgets
