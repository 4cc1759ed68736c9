// loyaltyctl --version and loyaltyd --version: the release and the schema they were built with.
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <loyalty/db/migrations.hpp>

TEST_CASE("cli: --version prints the release and the schema version of both programs", "[cli]") {
  const auto& migrations = loyalty::db::embedded_migrations();
  REQUIRE_FALSE(migrations.empty());
  std::string schema = migrations.back().name;
  schema.erase(schema.rfind(".sql"));
  for (const std::string program : {LOYALTYCTL_PATH, LOYALTYD_PATH}) {
    auto r = loyalty::test::run_command({program, "--version"});
    INFO(program << ": " << r.out << r.err);
    CHECK(r.exit_code == 0);
    const std::string name = program.substr(program.rfind('/') + 1);
    CHECK(r.out == name + " 0.1.0 (schema " + schema + ")\n");
  }
}
