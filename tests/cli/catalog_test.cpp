// loyaltyctl rewards, budget, ledger and rules import/export: exit codes and --json output.
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>

using loyalty::test::loyaltyctl;
using loyalty::test::sql_value;
using loyalty::test::TempDir;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

struct Cli {
  TestDatabase db;
  TempDir dir;

  Cli() {
    auto r = run({"tenant", "create", "--name", "Chicken Inn", "--slug", "chicken-inn"});
    REQUIRE(r.exit_code == 0);
  }

  loyalty::test::CommandResult run(std::vector<std::string> args, const std::string& input = "") {
    return loyaltyctl(db.owner_url(), std::move(args), input);
  }

  json ok_json(std::vector<std::string> args, const std::string& input = "") {
    args.push_back("--json");
    auto r = run(std::move(args), input);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out);
  }

  std::string write(const std::string& name, const std::string& content) {
    std::string path = dir.path() + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
};

}  // namespace

TEST_CASE("cli: rewards create, list, show and upload-codes", "[cli]") {
  Cli cli;
  auto created = cli.ok_json({"rewards", "create", "--tenant", "chicken-inn", "--name",
                              "Free coffee", "--type", "voucher", "--cost", "2.50", "--currency",
                              "USD", "--config", R"({"source":"pool"})"});
  CHECK(created["cost"] == "2.50");
  CHECK(created["pool"]["available"] == 0);

  auto file =
      cli.write("codes.csv", "code\r\nCOFFEE-0001\r\nCOFFEE-0001\r\nno good\r\nCOFFEE-0002\r\n");
  auto report = cli.ok_json(
      {"rewards", "upload-codes", "--tenant", "chicken-inn", "--reward", "Free coffee", file});
  CHECK(report["inserted"] == 2);
  CHECK(report["duplicates_in_file"] == 1);
  CHECK(report["already_present"] == 0);
  CHECK(report["invalid"] == json::array({{{"line", 4},
                                           {"reason",
                                            "characters other than A-Z, "
                                            "a-z, 0-9, '-' and '_'"}}}));
  // From stdin, again: everything is already there.
  auto again = cli.ok_json(
      {"rewards", "upload-codes", "--tenant", "chicken-inn", "--reward", created["id"], "-"},
      "COFFEE-0001\nCOFFEE-0002\n");
  CHECK(again["inserted"] == 0);
  CHECK(again["already_present"] == 2);

  auto shown = cli.ok_json({"rewards", "show", "--tenant", "chicken-inn", "Free coffee"});
  CHECK(shown["pool"]["available"] == 2);
  auto listed = cli.ok_json({"rewards", "list", "--tenant", "chicken-inn"});
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["name"] == "Free coffee");

  auto bad = cli.run({"rewards", "create", "--tenant", "chicken-inn", "--name", "x", "--type",
                      "discount", "--cost", "abc", "--currency", "USD", "--config",
                      R"({"kind":"percent","percent":500})"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("/cost") != std::string::npos);
  CHECK(bad.err.find("/config/percent") != std::string::npos);
  CHECK(cli.run({"rewards", "show", "--tenant", "chicken-inn", "nope"}).exit_code == 3);
  CHECK(cli.run({"rewards", "show", "--tenant", "no-such-tenant", "x"}).exit_code == 3);
}

TEST_CASE("cli: budget create, idempotent topup and show", "[cli]") {
  Cli cli;
  auto b = cli.ok_json({"budget", "create", "--tenant", "chicken-inn", "--name", "Coffee promo",
                        "--currency", "USD", "--total", "500", "--period", "monthly",
                        "--soft-cap-threshold", "0.8"});
  CHECK(b["total"] == "500.00");
  CHECK(b["hard_cap"] == true);
  CHECK(b["soft_cap_threshold"] == "0.8");
  CHECK(b["period"] == "monthly");

  auto t1 = cli.ok_json({"budget", "topup", "--tenant", "chicken-inn", "--budget", "Coffee promo",
                         "--amount", "250.00", "--reference", "INV-1"});
  CHECK(t1["replayed"] == false);
  CHECK(t1["budget"]["total"] == "750.00");
  auto t2 = cli.ok_json({"budget", "topup", "--tenant", "chicken-inn", "--budget", b["id"],
                         "--amount", "250", "--reference", "INV-1"});
  CHECK(t2["replayed"] == true);
  CHECK(t2["movement_id"] == t1["movement_id"]);
  auto conflict = cli.run({"budget", "topup", "--tenant", "chicken-inn", "--budget", "Coffee promo",
                           "--amount", "9", "--reference", "INV-1"});
  CHECK(conflict.exit_code == 4);
  CHECK(conflict.err.find("INV-1") != std::string::npos);

  auto shown = cli.ok_json({"budget", "show", "--tenant", "chicken-inn", "Coffee promo"});
  CHECK(shown["total"] == "750.00");
  CHECK(shown["available"] == "750.00");

  auto soft = cli.ok_json({"budget", "create", "--tenant", "chicken-inn", "--name", "Soft",
                           "--currency", "ZWG", "--no-hard-cap"});
  CHECK(soft["hard_cap"] == false);
  CHECK(soft["total"] == "0.00");
}

TEST_CASE("cli: ledger export streams CSV or JSONL and verify names a broken budget", "[cli]") {
  Cli cli;
  cli.ok_json({"budget", "create", "--tenant", "chicken-inn", "--name", "Coffee promo",
               "--currency", "USD", "--total", "100"});
  cli.ok_json({"budget", "topup", "--tenant", "chicken-inn", "--budget", "Coffee promo", "--amount",
               "20.5", "--reference", "R-1"});

  auto csv = cli.run({"ledger", "export", "--tenant", "chicken-inn"});
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.out.rfind("id,created_at,budget_id,budget_name,kind,", 0) == 0);
  CHECK(csv.out.find(",Coffee promo,topup,funding,available,20.50,USD,,R-1,") != std::string::npos);
  CHECK(std::count(csv.out.begin(), csv.out.end(), '\n') == 3);

  auto out = cli.dir.path() + "/ledger.jsonl";
  auto jsonl = cli.run({"ledger", "export", "--tenant", "chicken-inn", "--format", "jsonl",
                        "--type", "topup", "--from", "2000-01-01", "--out", out});
  REQUIRE(jsonl.exit_code == 0);
  std::ifstream in(out);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    auto row = json::parse(line);
    CHECK(row["kind"] == "topup");
    ++lines;
  }
  CHECK(lines == 2);
  CHECK(cli.run({"ledger", "export", "--tenant", "chicken-inn", "--from", "last week"}).exit_code ==
        2);

  auto verified = cli.ok_json({"ledger", "verify"});
  CHECK(verified["ok"] == true);
  CHECK(verified["movements"] == 2);

  sql_value(cli.db.owner(), "UPDATE budgets SET spent_minor = 7");
  auto broken = cli.run({"ledger", "verify", "--tenant", "chicken-inn"});
  CHECK(broken.exit_code == 4);
  CHECK(broken.out.find("chicken-inn/Coffee promo") != std::string::npos);
  CHECK(broken.out.find("spent is 0.07 but its ledger sums to 0.00") != std::string::npos);
  CHECK(broken.err.find("ledger verification failed for chicken-inn/Coffee promo") !=
        std::string::npos);
  // Put it back: the harness verifies the ledger at the end of every test.
  sql_value(cli.db.owner(), "UPDATE budgets SET spent_minor = 0");
}

TEST_CASE("cli: rules import is all-or-nothing and an export imports as a no-op", "[cli]") {
  Cli cli;
  cli.ok_json({"rewards", "create", "--tenant", "chicken-inn", "--name", "Free coffee", "--type",
               "voucher", "--cost", "2.50", "--currency", "USD", "--config",
               R"({"source":"generated","prefix":"CI-"})"});
  cli.ok_json({"budget", "create", "--tenant", "chicken-inn", "--name", "Coffee promo",
               "--currency", "USD", "--total", "100"});
  json rules = {{"rules",
                 {{{"name", "Big spender"},
                   {"event_type", "purchase"},
                   {"conditions", {{">=", {{{"var", "event.amount"}}, 50}}}},
                   {"reward", "Free coffee"},
                   {"budget", "Coffee promo"}},
                  {{"name", "Typo"},
                   {"event_type", "purchase"},
                   {"conditions", true},
                   {"reward", "Free cofee"}}}}};
  auto file = cli.write("rules.json", rules.dump(2));
  auto bad = cli.run({"rules", "import", "--tenant", "chicken-inn", file});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("/rules/1/reward: no reward 'Free cofee' in this tenant") !=
        std::string::npos);
  CHECK(sql_value(cli.db.owner(), "SELECT count(*) FROM rules") == "0");

  rules["rules"][1]["reward"] = "Free coffee";
  file = cli.write("rules.json", rules.dump(2));
  auto dry = cli.ok_json({"rules", "import", "--tenant", "chicken-inn", file, "--dry-run"});
  CHECK(dry["dry_run"] == true);
  CHECK(dry["created"].size() == 2);
  CHECK(sql_value(cli.db.owner(), "SELECT count(*) FROM rules") == "0");

  auto imported = cli.ok_json({"rules", "import", "--tenant", "chicken-inn", file});
  CHECK(imported["created"].size() == 2);

  auto exported = cli.run({"rules", "export", "--tenant", "chicken-inn"});
  REQUIRE(exported.exit_code == 0);
  auto again = cli.ok_json({"rules", "import", "--tenant", "chicken-inn", "-"}, exported.out);
  CHECK(again["unchanged"].size() == 2);
  CHECK(again["created"].empty());
  CHECK(again["updated"].empty());

  json only_one = {{"rules", {json::parse(exported.out)["rules"][0]}}};
  auto replaced = cli.ok_json({"rules", "import", "--tenant", "chicken-inn", "--replace", "-"},
                              only_one.dump());
  CHECK(replaced["deleted"] == json::array({"Typo"}));
  CHECK(sql_value(cli.db.owner(), "SELECT count(*) FROM rules") == "1");
  CHECK(cli.run({"rules", "import", "--tenant", "chicken-inn", "-"}, "{not json").exit_code == 2);
}
