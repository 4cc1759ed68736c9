// The role backups are taken as (migration 0095): it reads every row of every tenant through
// forced row-level security, and can write, own and log in as nothing.
#include "support/pg.hpp"

#include "db/tx.hpp"

#include <catch2/catch.hpp>
#include <loyalty/tenants/tenants.hpp>

using loyalty::test::sql_value;
using loyalty::test::TestDatabase;

TEST_CASE(
    "backup role: loyalty_backup sees every tenant's rows, may only SELECT, owns nothing and "
    "cannot log in",
    "[pg]") {
  TestDatabase db;
  for (const char* slug : {"role-one", "role-two"}) {
    loyalty::tenants::CreateTenantRequest req;
    req.name = slug;
    req.slug = slug;
    req.admin_email = std::string("admin@") + slug + ".example";
    loyalty::tenants::create_tenant(db.owner(), req);
  }

  CHECK(sql_value(db.owner(),
                  "SELECT rolcanlogin::text || rolsuper::text || rolbypassrls::text || "
                  "rolcreatedb::text || rolcreaterole::text || rolreplication::text "
                  "FROM pg_roles WHERE rolname = 'loyalty_backup'") ==
        "falsefalsetruefalsefalsefalse");

  // Through forced row-level security, with no tenant set: everything.
  auto as_backup = [&](const std::string& sql) {
    return loyalty::db::with_tx(db.owner(), [&](loyalty::db::Tx& tx) {
      tx.exec_raw("SET LOCAL ROLE loyalty_backup");
      return tx.exec_raw(sql)[0][0].as<std::string>();
    });
  };
  CHECK(as_backup("SELECT count(*) FROM tenants") == "2");
  CHECK(as_backup("SELECT count(*) FROM users") == "2");
  CHECK(as_backup("SELECT count(*) FROM api_keys") == "2");

  // SELECT and nothing else, on every table and sequence; nothing owned.
  CHECK(sql_value(db.owner(), R"sql(
SELECT count(*) FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'S')
   AND NOT has_table_privilege('loyalty_backup', c.oid, 'SELECT'))sql") == "0");
  CHECK(sql_value(db.owner(), R"sql(
SELECT string_agg(DISTINCT a.privilege_type, ',') FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.relnamespace = 'public'::regnamespace
   AND a.grantee = 'loyalty_backup'::regrole)sql") == "SELECT");
  CHECK(sql_value(db.owner(), R"sql(
SELECT count(*) FROM pg_class c JOIN pg_attribute t ON t.attrelid = c.oid, aclexplode(t.attacl) a
 WHERE c.relnamespace = 'public'::regnamespace AND t.attacl IS NOT NULL
   AND a.grantee = 'loyalty_backup'::regrole)sql") == "0");
  CHECK(sql_value(db.owner(), R"sql(
SELECT (SELECT count(*) FROM pg_class WHERE relowner = 'loyalty_backup'::regrole)
     + (SELECT count(*) FROM pg_proc WHERE proowner = 'loyalty_backup'::regrole))sql") == "0");

  for (const char* write :
       {"INSERT INTO audit_log (action, entity_type) VALUES ('x', 'y')",
        "UPDATE tenants SET name = 'changed'", "DELETE FROM api_keys", "TRUNCATE jobs"}) {
    INFO(write);
    // SQLSTATE 42501, insufficient privilege.
    CHECK_THROWS_WITH(as_backup(write), Catch::Contains("not permitted by the database policy"));
  }
  CHECK(sql_value(db.owner(), "SELECT string_agg(name, ',' ORDER BY slug) FROM tenants") ==
        "role-one,role-two");

  // A table a later migration creates is readable by it too (default privileges).
  sql_value(db.owner(), "CREATE TABLE later_table (id int) ; SELECT 1");
  CHECK(sql_value(db.owner(),
                  "SELECT has_table_privilege('loyalty_backup', 'later_table', 'SELECT')::text "
                  "|| has_table_privilege('loyalty_backup', 'later_table', 'INSERT')::text") ==
        "truefalse");
}
