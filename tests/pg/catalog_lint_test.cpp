// A lint of the schema's catalog: the rules that keep row-level security and the daemon's role
// honest, checked on the real migrated database. Each check is shown to catch an offender too,
// so a lint that silently matches nothing cannot pass.
#include "db/tx.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/core/error.hpp>

#include <map>
#include <set>

using loyalty::db::Tx;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;

namespace {

/// The user's objects: schemas other than the system's, objects not from an extension.
constexpr const char* kUserFunctions = R"sql(
  SELECT p.oid, p.oid::regprocedure::text AS name, p.prosecdef, p.proleakproof, p.proconfig,
         r.rolsuper, r.rolbypassrls
    FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace
    JOIN pg_roles r ON r.oid = p.proowner
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
     AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                                               AND d.objid = p.oid AND d.deptype = 'e')
)sql";

/// Each lint: a query listing offenders by name.
const std::map<std::string, std::string>& lints() {
  static const std::map<std::string, std::string> kLints = {
      {"view without security_invoker", R"sql(
        SELECT c.oid::regclass::text FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'v' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND NOT EXISTS (SELECT FROM unnest(coalesce(c.reloptions, '{}')) o
                            WHERE lower(o) IN ('security_invoker=true', 'security_invoker=on',
                                               'security_invoker=1', 'security_invoker=yes'))
         ORDER BY 1)sql"},
      {"SECURITY DEFINER function without a search_path ending in pg_temp",
       std::string("SELECT f.name FROM (") + kUserFunctions + R"sql() f
         WHERE f.prosecdef
           AND NOT EXISTS (SELECT FROM unnest(coalesce(f.proconfig, '{}')) c
                            WHERE c ~ '^search_path=' AND c ~ '(=|,\s*)"?pg_temp"?$')
         ORDER BY 1)sql"},
      {"LEAKPROOF function", std::string("SELECT f.name FROM (") + kUserFunctions +
                                 ") f WHERE f.proleakproof ORDER BY 1"},
      {"function owned by a superuser or a BYPASSRLS role",
       std::string("SELECT f.name FROM (") + kUserFunctions +
           ") f WHERE f.rolsuper OR f.rolbypassrls ORDER BY 1"},
      {"table-wide UPDATE for loyalty_app", R"sql(
        SELECT c.oid::regclass::text FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.relnamespace = 'public'::regnamespace
           AND a.grantee = 'loyalty_app'::regrole AND a.privilege_type = 'UPDATE'
         ORDER BY 1)sql"},
  };
  return kLints;
}

std::vector<std::string> offenders(loyalty::db::Database& db, const std::string& sql) {
  return loyalty::db::with_tx(db, [&](Tx& tx) {
    std::vector<std::string> out;
    for (const auto& r : tx.exec_raw(sql)) out.push_back(r[0].as<std::string>());
    return out;
  });
}

}  // namespace

TEST_CASE("catalog lint: the migrated schema breaks none of the rules", "[pg]") {
  TestDatabase tdb;
  for (const auto& [rule, sql] : lints()) {
    INFO(rule);
    CHECK(offenders(tdb.owner(), sql) == std::vector<std::string>{});
  }
  // The functions are really there to be checked, and the definers among them.
  CHECK(std::stoi(sql_value(tdb.owner(), std::string("SELECT count(*) FROM (") + kUserFunctions +
                                             ") f WHERE f.prosecdef")) >= 9);
  CHECK(sql_value(tdb.owner(),
                  "SELECT string_agg(DISTINCT r.rolname, ',') FROM pg_proc p JOIN pg_roles r ON "
                  "r.oid = p.proowner WHERE p.pronamespace = 'public'::regnamespace") ==
        "loyalty_definer");
  CHECK(sql_value(tdb.owner(),
                  "SELECT rolsuper OR rolbypassrls OR rolcanlogin OR rolcreaterole OR rolcreatedb "
                  "FROM pg_roles WHERE rolname = 'loyalty_definer'") == "f");
}

TEST_CASE("catalog lint: each rule catches an offender", "[pg]") {
  TestDatabase tdb;
  loyalty::db::with_tx(tdb.owner(), [](Tx& tx) {
    tx.exec_raw("CREATE VIEW lint_plain_view AS SELECT id FROM tenants");
    tx.exec_raw(
        "CREATE VIEW lint_invoker_view WITH (security_invoker = true) AS "
        "SELECT id FROM tenants");
    tx.exec_raw(
        "CREATE FUNCTION lint_unpinned() RETURNS int LANGUAGE sql SECURITY DEFINER "
        "AS 'SELECT 1'");
    tx.exec_raw(
        "CREATE FUNCTION lint_temp_first() RETURNS int LANGUAGE sql SECURITY DEFINER "
        "SET search_path = pg_temp, public AS 'SELECT 1'");
    tx.exec_raw(
        "CREATE FUNCTION lint_leaky(a int, b int) RETURNS bool LANGUAGE sql "
        "IMMUTABLE LEAKPROOF AS 'SELECT a = b'");
    tx.exec_raw("GRANT UPDATE ON customers TO loyalty_app");
  });
  const auto found = [&](const std::string& rule) {
    return offenders(tdb.owner(), lints().at(rule));
  };
  CHECK(found("view without security_invoker") == std::vector<std::string>{"lint_plain_view"});
  CHECK(found("SECURITY DEFINER function without a search_path ending in pg_temp") ==
        std::vector<std::string>{"lint_temp_first()", "lint_unpinned()"});
  CHECK(found("LEAKPROOF function") == std::vector<std::string>{"lint_leaky(integer,integer)"});
  // Created by the migrating role, a superuser here: what a migration that forgets to hand a
  // new function to loyalty_definer leaves behind.
  auto superuser_owned = found("function owned by a superuser or a BYPASSRLS role");
  CHECK(
      std::set<std::string>(superuser_owned.begin(), superuser_owned.end()) ==
      std::set<std::string>{"lint_leaky(integer,integer)", "lint_temp_first()", "lint_unpinned()"});
  CHECK(found("table-wide UPDATE for loyalty_app") == std::vector<std::string>{"customers"});
}

TEST_CASE("catalog lint: loyalty_app may update exactly the columns its code paths update",
          "[pg]") {
  TestDatabase tdb;
  const std::map<std::string, std::set<std::string>> expected = {
      {"api_keys", {"last_used_at", "revoked_at"}},
      {"budgets",
       {"period_start", "reserved_minor", "spent_minor", "threshold_notified_period", "total_minor",
        "updated_at", "utilized_minor"}},
      {"campaigns",
       {"budget_id", "description", "ends_at", "name", "starts_at", "status", "updated_at"}},
      {"channel_sessions", {"customer_id", "expires_at", "state", "updated_at"}},
      {"customers",
       {"attributes", "birthday", "consent_at", "consent_channel", "external_ref", "language",
        "phone", "points_balance", "points_pending", "referral_open", "segments", "status", "tags",
        "tier_below_since", "tier_id", "tier_since", "updated_at", "whatsapp_seen_at"}},
      {"events", {"data", "response", "response_status", "status"}},
      {"issuances",
       {"cancel_reason", "cancelled_at", "code", "expired_at", "expiry_notice_at", "issued_at",
        "pin_attempts", "pin_expires_at", "pin_hash", "redeemed_at", "state", "updated_at"}},
      {"notifications",
       {"error_code", "last_error", "next_attempt_at", "payload", "provider_message_id",
        "recipient", "sent_as", "sent_at", "status", "updated_at"}},
      {"outbox", {"payload"}},
      {"points_lots", {"expired_at", "expiry_notice_at", "released_at", "remaining"}},
      {"referrals", {"completed_at", "completing_event_id"}},
      {"refresh_tokens", {"replaced_by", "revoked_at"}},
      {"reward_codes", {"assigned_at", "issuance_id", "status"}},
      {"rewards",
       {"active", "budget_id", "config", "cost_minor", "currency", "description", "name", "points",
        "points_price", "requires_pin", "stock", "type", "updated_at", "valid_from", "valid_until",
        "validity_days"}},
      {"rules",
       {"active", "budget_id", "campaign_id", "conditions", "cooldown_seconds", "description",
        "event_type", "global_max", "global_period", "name", "per_customer_max",
        "per_customer_period", "priority", "reward_id", "stop_processing", "updated_at",
        "valid_from", "valid_until"}},
      {"segments", {"conditions", "description", "name", "updated_at"}},
      {"tenants", {"rules_version", "settings", "updated_at"}},
      {"tier_policies", {"grace_days", "measure", "updated_at", "window_days", "window_kind"}},
      {"tiers", {"multiplier_bp", "rank", "threshold", "updated_at"}},
      {"users", {"last_login_at", "password_hash", "status", "updated_at"}},
      {"webhook_deliveries", {"leased_by", "next_attempt_at", "replayed_after", "status"}},
      {"whatsapp_inbox", {"answered_at", "message"}},
      {"webhook_subscriptions",
       {"active", "consecutive_failures", "description", "disabled_reason", "event_types",
        "failing_since", "paused_until", "previous_secret", "previous_secret_until", "secret",
        "updated_at", "url"}},
  };
  auto granted = loyalty::db::with_tx(tdb.owner(), [](Tx& tx) {
    std::map<std::string, std::set<std::string>> out;
    for (const auto& r : tx.exec_raw(R"sql(
          SELECT c.relname, a.attname FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
           WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
             AND a.attnum > 0 AND NOT a.attisdropped
             AND has_column_privilege('loyalty_app', a.attrelid, a.attnum, 'UPDATE'))sql")) {
      out[r[0].as<std::string>()].insert(r[1].as<std::string>());
    }
    return out;
  });
  CHECK(granted == expected);

  // And the database holds to it: a column outside the list cannot be changed by the daemon's
  // role, even in its own tenant.
  auto tenant = sql_value(tdb.owner(),
                          "INSERT INTO tenants (name, slug) VALUES ('A', 'lint-a') RETURNING id");
  sql_value(tdb.owner(), "INSERT INTO customers (tenant_id, phone) VALUES ('" + tenant +
                             "', '+263771000001') RETURNING 1");
  for (const std::string statement :
       {"UPDATE customers SET enrolled_at = now()", "UPDATE tenants SET status = 'active'",
        "UPDATE jobs SET status = 'done'", "UPDATE api_keys SET key_hash = 'x'"}) {
    INFO(statement);
    try {
      loyalty::db::with_tenant(tdb.app(), tenant, [&](Tx& tx) { tx.exec_raw(statement); });
      FAIL("loyalty_app was allowed: " << statement);
    } catch (const loyalty::Error& e) {
      CHECK(e.code() == loyalty::ErrorCode::forbidden);  // SQLSTATE 42501
    }
  }
  loyalty::db::with_tenant(
      tdb.app(), tenant, [&](Tx& tx) { tx.exec_raw("UPDATE customers SET status = 'suspended'"); });
  CHECK(sql_value(tdb.owner(), "SELECT status FROM customers") == "suspended");
}
