// The gauges /metrics reads across tenants (migration 0101): loyalty_app, which sees one tenant at
// a time under forced row-level security, gets counts and ratios of every tenant through the
// definer functions, and still no budget row.
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>
#include <loyalty/jobs/admin.hpp>
#include <loyalty/tenants/tenants.hpp>

using loyalty::Actor;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;

namespace {

std::string tenant(TestDatabase& db, const std::string& slug) {
  loyalty::tenants::CreateTenantRequest req;
  req.name = slug;
  req.slug = slug;
  return loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
}

std::string budget(TestDatabase& db, const std::string& tenant_id, const std::string& name,
                   const std::string& total, long long used_minor) {
  auto id = loyalty::budgets::create_budget(db.app(), tenant_id, Actor::operator_cli(),
                                            {{"name", name}, {"currency", "USD"}, {"total", total}})
                .id;
  sql_value(db.owner(), "UPDATE budgets SET spent_minor = " + std::to_string(used_minor) +
                            " WHERE id = '" + id + "' RETURNING 1");
  return id;
}

}  // namespace

TEST_CASE(
    "metrics gauges: loyalty_app reads every tenant's queue depth and most utilised budgets, "
    "and no budget row",
    "[pg]") {
  TestDatabase db;
  auto a = tenant(db, "shop-a"), b = tenant(db, "shop-b");
  budget(db, a, "quiet", "100.00", 1000);             // 10%
  auto hot = budget(db, b, "launch", "50.00", 4750);  // 95%
  budget(db, b, "later", "20.00", 0);                 // 0%
  sql_value(db.owner(), "INSERT INTO budgets (tenant_id, name, currency) VALUES ('" + a +
                            "', 'unfunded', 'USD') RETURNING 1");
  for (const auto& [t, status, run_at] :
       {std::tuple{a, "pending", "now() - interval '2 minutes'"},
        std::tuple{b, "pending", "now() + interval '1 hour'"}, std::tuple{b, "dead", "now()"},
        std::tuple{a, "dead", "now()"}, std::tuple{a, "done", "now()"}}) {
    sql_value(db.owner(),
              std::string("INSERT INTO jobs (tenant_id, kind, status, run_at) VALUES ('") + t +
                  "', 'event.issue', '" + status + "', " + run_at + ") RETURNING 1");
  }

  auto top = loyalty::budgets::most_utilised(db.app(), 2);
  CHECK(top.funded_budgets == 3);
  REQUIRE(top.top.size() == 2);
  CHECK(top.top[0].tenant_slug == "shop-b");
  CHECK(top.top[0].budget_id == hot);
  CHECK(top.top[0].ratio == Approx(0.95));
  CHECK(top.top[1].tenant_slug == "shop-a");
  CHECK(top.top[1].ratio == Approx(0.10));

  auto queue = loyalty::jobs::queue_depth(db.app());
  CHECK(queue.due == 1);
  CHECK(queue.scheduled == 1);
  CHECK(queue.running == 0);
  CHECK(queue.dead == 2);
  CHECK(queue.oldest_due_seconds >= 120);

  // The functions give counts and ratios only: the role itself still sees no tenant's rows.
  CHECK(sql_value(db.app(), "SELECT count(*) FROM budgets") == "0");
  CHECK(sql_value(db.app(), "SELECT count(*) FROM jobs") == "0");
  // The spending above was written by hand, not through the ledger: undone, ledger verify holds.
  sql_value(db.owner(), "UPDATE budgets SET spent_minor = 0 RETURNING 1");
}
