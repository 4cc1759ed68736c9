// loyaltyctl's amount flags: the same ceiling as the API, as an error line (then one line per
// field) and exit 2 (invalid).
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <string>

using loyalty::test::loyaltyctl;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;

namespace {

/// The first line of a command's stderr.
std::string first_line(const std::string& err) { return err.substr(0, err.find('\n')); }

}  // namespace

TEST_CASE("cli: amount flags above 10000000000.00 exit 2 with an error line naming the field",
          "[cli]") {
  TestDatabase db;
  auto run = [&](std::vector<std::string> args) { return loyaltyctl(db.owner_url(), args); };
  REQUIRE(run({"tenant", "create", "--name", "Big Spender", "--slug", "big"}).exit_code == 0);

  struct Case {
    std::vector<std::string> args;
    std::string pointer;
  };
  const std::vector<Case> cases = {
      {{"rewards", "create", "--tenant", "big", "--name", "Yacht", "--type", "voucher", "--cost",
        "10000000000.01", "--currency", "USD", "--config", R"({"source":"pool"})"},
       "/cost"},
      {{"budget", "create", "--tenant", "big", "--name", "B", "--currency", "USD", "--total",
        "10000000000.01"},
       "/total"},
      {{"budget", "create", "--tenant", "big", "--name", "B", "--currency", "USD", "--total",
        "99999999999999999999999999"},
       "/total"},
  };
  for (const auto& c : cases) {
    auto r = run(c.args);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    auto line = first_line(r.err);
    CHECK(line.rfind("loyaltyctl: ", 0) == 0);
    CHECK(line.find(c.pointer) != std::string::npos);
    CHECK(line.find("at most 10000000000.00") != std::string::npos);
  }
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM rewards") == "0");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM budgets") == "0");

  // The maximum is accepted; a top-up past it, on its own or as the total it would make, is not.
  REQUIRE(run({"budget", "create", "--tenant", "big", "--name", "B", "--currency", "USD", "--total",
               "10000000000.00"})
              .exit_code == 0);
  for (const std::string& amount : {std::string("10000000000.01"), std::string("0.01")}) {
    auto r = run({"budget", "topup", "--tenant", "big", "--budget", "B", "--amount", amount,
                  "--reference", "INV-" + amount});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(first_line(r.err).find("at most 10000000000.00") != std::string::npos);
    CHECK(r.err.find("/amount") != std::string::npos);
  }
  CHECK(sql_value(db.owner(), "SELECT total_minor FROM budgets") == "1000000000000");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM budget_topups") == "0");
}
