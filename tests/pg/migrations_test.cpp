#include "db/tx.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/db/migrations.hpp>

using loyalty::test::sql_value;
using loyalty::test::TestDatabase;

TEST_CASE("migrations: apply from an empty database, and a second run is a no-op", "[pg]") {
  TestDatabase tdb(false);
  auto applied = loyalty::db::migrate(tdb.owner());
  REQUIRE(applied.size() == loyalty::db::embedded_migrations().size());
  CHECK(applied.front() == "0001_schema.sql");
  CHECK(sql_value(tdb.owner(), "SELECT count(*) FROM schema_migrations") ==
        std::to_string(applied.size()));
  CHECK(sql_value(tdb.owner(), "SELECT to_regclass('issuances') IS NOT NULL") == "t");

  CHECK(loyalty::db::migrate(tdb.owner()).empty());
  for (const auto& s : loyalty::db::migration_status(tdb.owner())) CHECK(s.applied);
}

TEST_CASE("migrations: an applied migration whose file changed is refused", "[pg]") {
  TestDatabase tdb(false);
  auto files = loyalty::db::embedded_migrations();
  loyalty::db::migrate(tdb.owner(), files);
  files.front().sql += "\n-- edited after it was applied\n";
  try {
    loyalty::db::migrate(tdb.owner(), files);
    FAIL("an edited migration was accepted");
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::conflict);
    CHECK(std::string(e.what()).find("0001_schema.sql") != std::string::npos);
    CHECK(std::string(e.what()).find("edited") != std::string::npos);
  }
}

TEST_CASE("migrations: a schema behind the files is reported with the missing migration", "[pg]") {
  TestDatabase tdb(false);
  auto files = loyalty::db::embedded_migrations();
  files.push_back({"9999_future.sql", "CREATE TABLE future_thing (id int)"});
  loyalty::db::migrate(tdb.owner(), loyalty::db::embedded_migrations());
  auto status = loyalty::db::migration_status(tdb.owner(), files);
  REQUIRE(status.back().name == "9999_future.sql");
  CHECK_FALSE(status.back().applied);
  // The real binary's schema is at head, so the daemon's check passes.
  CHECK_NOTHROW(loyalty::db::require_schema_at_head(tdb.owner()));

  TestDatabase empty(false);
  try {
    loyalty::db::require_schema_at_head(empty.owner());
    FAIL("an empty schema passed the head check");
  } catch (const loyalty::Error& e) {
    CHECK(std::string(e.what()).find("0001_schema.sql") != std::string::npos);
  }
}

TEST_CASE("migrations: a failing migration leaves nothing applied", "[pg]") {
  TestDatabase tdb(false);
  std::vector<loyalty::db::EmbeddedMigration> files = {
      {"0001_ok.sql", "CREATE TABLE first_table (id int)"},
      {"0002_bad.sql", "CREATE TABLE second_table (id int); SELECT no_such_function()"}};
  CHECK_THROWS_AS(loyalty::db::migrate(tdb.owner(), files), loyalty::Error);
  CHECK(sql_value(tdb.owner(), "SELECT to_regclass('first_table') IS NOT NULL") == "t");
  CHECK(sql_value(tdb.owner(), "SELECT to_regclass('second_table') IS NOT NULL") == "f");
  CHECK(sql_value(tdb.owner(), "SELECT count(*) FROM schema_migrations") == "1");
}
