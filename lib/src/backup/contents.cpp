#include "backup/contents.hpp"

#include <loyalty/core/error.hpp>

#include <algorithm>
#include <iterator>

namespace loyalty::backup {

namespace {

using nlohmann::json;

const db::Query kSchemaVersion{"backup_schema_version", R"sql(
SELECT CASE WHEN to_regclass('public.schema_migrations') IS NULL THEN ''
            ELSE (xpath('/row/v/text()',
                        query_to_xml('SELECT max(name) AS v FROM public.schema_migrations',
                                     false, true, '')))[1]::text END
)sql"};

// Every table of the schema with its row count, in one round trip.
const db::Query kRowCounts{"backup_row_counts", R"sql(
SELECT c.relname AS table_name,
       (xpath('/row/n/text()',
              query_to_xml(format('SELECT count(*) AS n FROM public.%I', c.relname),
                           false, true, '')))[1]::text::bigint AS row_count
  FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
 ORDER BY 1
)sql"};

// What the money in the database adds up to: movements by currency and kind, budgets'
// counters by currency, points. Sums as text (a numeric of bigints can pass 2^63).
const db::Query kLedgerTotals{"backup_ledger_totals", R"sql(
SELECT json_build_object(
  'movements', (SELECT count(*) FROM ledger_movements),
  'movements_minor', (SELECT coalesce(json_object_agg(k, v ORDER BY k), '{}')
                        FROM (SELECT currency || ' ' || kind AS k, sum(amount_minor)::text AS v
                                FROM ledger_movements GROUP BY 1) m),
  'budgets', (SELECT coalesce(json_object_agg(currency, json_build_object(
                       'count', n, 'total_minor', t, 'reserved_minor', r,
                       'utilized_minor', u, 'spent_minor', s) ORDER BY currency), '{}')
                FROM (SELECT currency, count(*) AS n, sum(total_minor)::text AS t,
                             sum(reserved_minor)::text AS r, sum(utilized_minor)::text AS u,
                             sum(spent_minor)::text AS s
                        FROM budgets GROUP BY currency) b),
  'points_movements', (SELECT count(*) FROM points_ledger),
  'points', (SELECT coalesce(sum(points), 0)::text FROM points_ledger),
  'points_balances', (SELECT coalesce(sum(points_balance), 0)::text FROM customers)
)::text AS totals
)sql"};

// Row-level security, policies, privileges (table, column, sequence, function, schema, default)
// and owners of the schema, one line each: a restore must bring every one of them back.
const db::Query kSecurity{"backup_security", R"sql(
WITH rel AS (
  SELECT c.oid, c.relname, c.relkind, c.relowner, c.relacl, c.relrowsecurity,
         c.relforcerowsecurity
    FROM pg_class c
   WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
), fn AS (
  SELECT p.oid, p.oid::regprocedure::text AS signature, p.proowner, p.proacl, p.prosecdef,
         p.proconfig
    FROM pg_proc p
   WHERE p.pronamespace = 'public'::regnamespace
), lines AS (
  SELECT 'rls ' || relname || ' enabled=' || relrowsecurity || ' forced=' || relforcerowsecurity
    FROM rel WHERE relkind IN ('r', 'p')
  UNION ALL
  SELECT 'policy ' || tablename || ' ' || policyname || ' ' || permissive || ' ' || cmd ||
         ' to ' || array_to_string(roles, ',') || ' using ' || coalesce(qual, '-') ||
         ' check ' || coalesce(with_check, '-')
    FROM pg_policies WHERE schemaname = 'public'
  UNION ALL
  SELECT 'grant ' || a.privilege_type || ' on ' || r.relname || ' to ' ||
         CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END ||
         CASE WHEN a.is_grantable THEN ' with grant option' ELSE '' END
    FROM rel r, aclexplode(r.relacl) a
  UNION ALL
  SELECT 'grant ' || a.privilege_type || ' (' || t.attname || ') on ' || r.relname || ' to ' ||
         CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
    FROM rel r JOIN pg_attribute t ON t.attrelid = r.oid AND t.attacl IS NOT NULL,
         aclexplode(t.attacl) a
  UNION ALL
  SELECT 'grant ' || a.privilege_type || ' on function ' || f.signature || ' to ' ||
         CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
    FROM fn f, aclexplode(f.proacl) a
  UNION ALL
  SELECT 'grant ' || a.privilege_type || ' on schema public to ' ||
         CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
    FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = 'public'
  UNION ALL
  SELECT 'default ' || pg_get_userbyid(d.defaclrole) || ' ' || d.defaclobjtype::text || ' ' ||
         a.privilege_type || ' to ' ||
         CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
    FROM pg_default_acl d, aclexplode(d.defaclacl) a
  UNION ALL
  SELECT 'owner ' || relname || ' ' || pg_get_userbyid(relowner) FROM rel
  UNION ALL
  SELECT 'owner function ' || signature || ' ' || pg_get_userbyid(proowner) ||
         CASE WHEN prosecdef THEN ' security definer' ELSE '' END ||
         coalesce(' set ' || array_to_string(proconfig, ','), '')
    FROM fn
)
SELECT * FROM lines AS l(line) ORDER BY 1
)sql"};

// Tenant tables as migration 0001 defines them: a tenant_id column (or tenants itself).
const db::Query kIsolation{"backup_isolation", R"sql(
SELECT c.relname || ': ' ||
       CASE WHEN NOT c.relrowsecurity THEN 'row-level security not enabled'
            WHEN NOT c.relforcerowsecurity THEN 'row-level security not forced'
            ELSE 'no tenant_isolation policy' END AS problem
  FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
   AND (c.relname = 'tenants' OR EXISTS (
         SELECT FROM pg_attribute a
          WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
   AND (NOT c.relrowsecurity OR NOT c.relforcerowsecurity OR NOT EXISTS (
         SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation'))
 ORDER BY 1
)sql"};

// The roles the database refers to and their memberships among each other, as statements that
// create what is missing and change nothing that exists.
const db::Query kRoles{"backup_roles", R"sql(
WITH referenced AS (
  SELECT relowner AS oid FROM pg_class WHERE relnamespace = 'public'::regnamespace
  UNION SELECT proowner FROM pg_proc WHERE pronamespace = 'public'::regnamespace
  UNION SELECT typowner FROM pg_type WHERE typnamespace = 'public'::regnamespace
  UNION SELECT nspowner FROM pg_namespace WHERE nspname = 'public'
  UNION SELECT a.grantee FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.relnamespace = 'public'::regnamespace
  UNION SELECT a.grantee FROM pg_class c JOIN pg_attribute t ON t.attrelid = c.oid,
               aclexplode(t.attacl) a
         WHERE c.relnamespace = 'public'::regnamespace AND t.attacl IS NOT NULL
  UNION SELECT a.grantee FROM pg_proc p, aclexplode(p.proacl) a
         WHERE p.pronamespace = 'public'::regnamespace
  UNION SELECT a.grantee FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = 'public'
  UNION SELECT defaclrole FROM pg_default_acl
  UNION SELECT a.grantee FROM pg_default_acl d, aclexplode(d.defaclacl) a
  UNION SELECT unnest(polroles) FROM pg_policy
  UNION SELECT datdba FROM pg_database WHERE datname = current_database()
), roles AS (
  SELECT r.* FROM pg_roles r JOIN referenced x ON x.oid = r.oid WHERE r.rolname !~ '^pg_'
)
SELECT statement FROM (
  SELECT 1 AS pass, rolname AS a, '' AS b,
         format($f$DO $do$ BEGIN IF to_regrole(%L) IS NULL THEN CREATE ROLE %I %s; END IF; END $do$;$f$,
                rolname, rolname,
                -- A superuser (the embedded cluster's owner) comes back as a role with no
                -- powers at all: a backup never makes anyone more than a restore's own role.
                CASE WHEN rolsuper THEN 'NOLOGIN' ELSE
                concat_ws(' ', CASE WHEN rolcanlogin THEN 'LOGIN' ELSE 'NOLOGIN' END,
                          'NOSUPERUSER', 'NOREPLICATION',
                          CASE WHEN rolinherit THEN 'INHERIT' ELSE 'NOINHERIT' END,
                          CASE WHEN rolbypassrls THEN 'BYPASSRLS' ELSE 'NOBYPASSRLS' END,
                          CASE WHEN rolcreatedb THEN 'CREATEDB' ELSE 'NOCREATEDB' END,
                          CASE WHEN rolcreaterole THEN 'CREATEROLE' ELSE 'NOCREATEROLE' END)
                END)
           AS statement
    FROM roles
  UNION ALL
  SELECT 2, g.rolname, m.rolname,
         format($f$DO $do$ BEGIN IF NOT EXISTS (SELECT FROM pg_auth_members WHERE roleid = %L::regrole AND member = %L::regrole) THEN GRANT %I TO %I%s; END IF; END $do$;$f$,
                g.rolname, m.rolname, g.rolname, m.rolname,
                CASE WHEN am.admin_option THEN ' WITH ADMIN OPTION' ELSE '' END)
    FROM pg_auth_members am JOIN roles g ON g.oid = am.roleid JOIN roles m ON m.oid = am.member
) s
ORDER BY pass, a, b
)sql"};

}  // namespace

std::vector<std::string> read_security(db::Tx& tx) {
  std::vector<std::string> lines;
  for (const auto& row : tx.exec(kSecurity)) lines.push_back(row[0].as<std::string>());
  // Byte order whatever the database's collation, as the comparisons below expect.
  std::sort(lines.begin(), lines.end());
  return lines;
}

Contents read_contents(db::Tx& tx) {
  Contents c;
  c.schema_version = tx.exec1(kSchemaVersion)[0].as<std::string>("");
  for (const auto& row : tx.exec(kRowCounts)) {
    c.row_counts[row["table_name"].as<std::string>()] = row["row_count"].as<std::int64_t>();
  }
  bool has_ledger = c.row_counts.count("ledger_movements") && c.row_counts.count("budgets") &&
                    c.row_counts.count("points_ledger") && c.row_counts.count("customers");
  c.ledger = has_ledger ? json::parse(tx.exec1(kLedgerTotals)["totals"].as<std::string>())
                        : json::object();
  c.security = read_security(tx);
  return c;
}

std::vector<std::string> isolation_problems(db::Tx& tx) {
  std::vector<std::string> problems;
  for (const auto& row : tx.exec(kIsolation)) problems.push_back(row["problem"].as<std::string>());
  return problems;
}

std::string roles_sql(db::Tx& tx) {
  std::string sql =
      "-- The roles the loyalty database refers to, created when missing and never altered\n"
      "-- (no SUPERUSER, no REPLICATION, no passwords). Run before pg_restore:\n"
      "--   psql -d postgres -f roles.sql\n";
  for (const auto& row : tx.exec(kRoles)) sql += row["statement"].as<std::string>() + "\n";
  return sql;
}

json to_json(const Contents& contents, bool with_security) {
  json out = {{"schema_version", contents.schema_version},
              {"row_counts", contents.row_counts},
              {"ledger", contents.ledger}};
  if (with_security) out["security"] = contents.security;
  return out;
}

Contents contents_from_json(const json& doc) {
  try {
    Contents c;
    c.schema_version = doc.at("schema_version").get<std::string>();
    c.row_counts = doc.at("row_counts").get<std::map<std::string, std::int64_t>>();
    c.ledger = doc.at("ledger");
    if (doc.contains("security") && doc["security"].is_array()) {
      c.security = doc.at("security").get<std::vector<std::string>>();
    }
    return c;
  } catch (const json::exception&) {
    throw Error(ErrorCode::conflict, "backup-format",
                "the record of the backup's contents is malformed");
  }
}

std::string compare_counts(const Contents& expected, const Contents& restored,
                           const std::string& source) {
  if (expected.schema_version != restored.schema_version) {
    return "the restored schema is " + restored.schema_version + ", " + source + " says " +
           expected.schema_version;
  }
  for (const auto& [table, rows] : expected.row_counts) {
    auto it = restored.row_counts.find(table);
    if (it == restored.row_counts.end()) {
      return "row counts differ: table " + table + " is missing from the restored copy";
    }
    if (it->second != rows) {
      return "row counts differ: " + table + " has " + std::to_string(it->second) +
             " rows restored, " + source + " says " + std::to_string(rows);
    }
  }
  for (const auto& [table, rows] : restored.row_counts) {
    if (!expected.row_counts.count(table)) {
      return "row counts differ: the restored copy has table " + table + " that " + source +
             " does not list";
    }
  }
  if (expected.ledger != restored.ledger) {
    for (auto it = expected.ledger.begin(); it != expected.ledger.end(); ++it) {
      if (!restored.ledger.contains(it.key()) || restored.ledger[it.key()] != it.value()) {
        return "ledger totals differ: " + it.key() + " is " +
               (restored.ledger.contains(it.key()) ? restored.ledger[it.key()].dump() : "absent") +
               " restored, " + source + " says " + it.value().dump();
      }
    }
    return "ledger totals differ from " + source;
  }
  return "";
}

std::string compare_security(const std::vector<std::string>& expected,
                             const std::vector<std::string>& restored, const std::string& source) {
  std::vector<std::string> missing, extra;
  std::set_difference(expected.begin(), expected.end(), restored.begin(), restored.end(),
                      std::back_inserter(missing));
  std::set_difference(restored.begin(), restored.end(), expected.begin(), expected.end(),
                      std::back_inserter(extra));
  if (missing.empty() && extra.empty()) return "";
  std::string out = "policies, grants or owners differ from " + source + ": ";
  if (!missing.empty()) {
    out += std::to_string(missing.size()) + " missing (first: '" + missing.front() + "')";
  }
  if (!extra.empty()) {
    out += std::string(missing.empty() ? "" : ", ") + std::to_string(extra.size()) +
           " unexpected (first: '" + extra.front() + "')";
  }
  return out;
}

}  // namespace loyalty::backup
