// loyaltyctl ussd simulate: the operator plays the USSD gateway against the real daemon, screen by
// screen, with what a customer would type on stdin.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

using loyalty::test::Api;
using loyalty::test::Daemon;
using loyalty::test::run_command;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;

namespace {

const std::string kSecret = "gateway-secret-for-simulate";

struct Simulated {
  TestDatabase db;
  Daemon daemon{
      Daemon::over(db, {"--rate-limit", "0", "--rate-limit-ip", "0", "--ussd-secret", kSecret})};
  Api api{daemon.port()};
  loyalty::test::TenantCredentials shop{loyalty::test::seed_tenant(db, api, "shop")};

  Simulated() {
    auto added = loyalty::test::loyaltyctl(
        db.owner_url(), {"channel", "add", "--tenant", "shop", "--ussd", "*123#"});
    INFO(added.err);
    REQUIRE(added.exit_code == 0);
  }

  /// `loyaltyctl ussd simulate` as phone 0771 234 567, typing `input`.
  loyalty::test::CommandResult simulate(const std::string& input,
                                        const std::string& secret = kSecret) {
    return run_command(
        {LOYALTYCTL_PATH, "--database-url", db.owner_url(), "ussd", "simulate", "--tenant", "shop",
         "--phone", "0771 234 567", "--url", "http://127.0.0.1:" + std::to_string(daemon.port())},
        input, {"LOYALTY_USSD_SECRET=" + secret});
  }
};

}  // namespace

TEST_CASE("cli: ussd simulate walks a customer from dial to joined, screen by screen", "[cli]") {
  Simulated s;
  auto run = s.simulate("1\n1\n");
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(run.out.find("Dialling *123# as +263771234567") != std::string::npos);
  // The guest menu, the join question, then the end of the session, each input echoed.
  const auto menu = run.out.find("1. Join");
  const auto asked = run.out.find("> 1\n", menu);
  const auto ended = run.out.find("[session ended]");
  CHECK(menu != std::string::npos);
  CHECK(asked != std::string::npos);
  CHECK(ended != std::string::npos);
  const auto joined = run.out.find("You earn rewards when you shop.");
  CHECK(joined != std::string::npos);
  CHECK(joined < ended);
  CHECK(sql_value(s.db.owner(),
                  "SELECT status || ' ' || consent_channel FROM customers WHERE phone = "
                  "'+263771234567'") == "active ussd");
  CHECK(sql_value(s.db.owner(), "SELECT count(*) FROM channel_sessions") == "0");

  // Now a member: "my points" and back, then hanging up mid-session removes its state.
  auto member = s.simulate("1\n0\n");
  INFO(member.out << member.err);
  REQUIRE(member.exit_code == 0);
  CHECK(member.out.find("You have 0 points.") != std::string::npos);
  CHECK(member.out.find("[hung up]") != std::string::npos);
  CHECK(sql_value(s.db.owner(), "SELECT count(*) FROM channel_sessions") == "0");
}

TEST_CASE("cli: ussd simulate says in one line why it cannot start a session", "[cli]") {
  Simulated s;
  auto wrong = s.simulate("", "not-the-secret");
  CHECK(wrong.exit_code != 0);
  CHECK(wrong.err.rfind("loyaltyctl: ", 0) == 0);
  CHECK(wrong.err.find("refused the USSD secret") != std::string::npos);
  CHECK(wrong.err.find("not-the-secret") == std::string::npos);
  CHECK(std::count(wrong.err.begin(), wrong.err.end(), '\n') == 1);

  auto none = s.simulate("", "");
  CHECK(none.exit_code == 2);
  CHECK(none.err.find("no USSD secret") != std::string::npos);

  auto other =
      run_command({LOYALTYCTL_PATH, "--database-url", s.db.owner_url(), "ussd", "simulate",
                   "--tenant", "shop", "--phone", "0771 234 567", "--service-code", "*999#"},
                  "", {"LOYALTY_USSD_SECRET=" + kSecret});
  CHECK(other.exit_code != 0);
  CHECK(other.err.find("no USSD code *999#") != std::string::npos);

  // Nothing listens there.
  auto down =
      run_command({LOYALTYCTL_PATH, "--database-url", s.db.owner_url(), "ussd", "simulate",
                   "--tenant", "shop", "--phone", "0771 234 567", "--url", "http://127.0.0.1:9"},
                  "", {"LOYALTY_USSD_SECRET=" + kSecret});
  CHECK(down.exit_code != 0);
  CHECK(down.err.find("no answer from loyaltyd") != std::string::npos);
  CHECK(sql_value(s.db.owner(), "SELECT count(*) FROM customers") == "0");
}
