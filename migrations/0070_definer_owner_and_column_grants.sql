-- Hardening of the functions that run with more rights than their caller, and of what the
-- daemon's role may change. Nothing here changes what any statement answers.
--
-- 1. A function's owner is whose rights a SECURITY DEFINER function runs with. They were owned by
--    the migrating role, which in the embedded cluster is the bootstrap superuser (it cannot be
--    made anything less), so a flaw in one of them was a flaw with a superuser's rights. Every
--    function of the schema now belongs to loyalty_definer: no login, no superuser, no
--    BYPASSRLS, with SELECT on the columns the lookups read, the job queue's updates, and
--    row-level security policies that let it see exactly those tables across tenants (the
--    owner's operator_access policy used to). A later migration that creates a function must
--    hand it over too (ALTER FUNCTION ... OWNER TO loyalty_definer): the catalog lint test
--    (tests/pg/catalog_lint_test.cpp) fails on a function owned by a superuser.
-- 2. Every SECURITY DEFINER function searches `public, pg_temp`, in that order: without pg_temp
--    named last, PostgreSQL searches the caller's temporary schema first, where anyone can
--    create a table or function that shadows ours. Nobody but the owner creates in public.
-- 3. loyalty_app keeps UPDATE only on the columns the daemon's code paths update (every UPDATE
--    in lib/src and in the SECURITY INVOKER functions it calls, audited for this migration);
--    tables it never updates (the job queue, reached through the functions above, webhook and
--    notification tables, channel sessions) lose UPDATE altogether. A new code path that
--    updates another column grants it in its own migration.

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'loyalty_definer') THEN
    CREATE ROLE loyalty_definer NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
  -- Handing a function over needs membership of the new owner (a superuser needs none).
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('GRANT loyalty_definer TO %I', current_user);
  END IF;
END $$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO loyalty_definer;

-- What the definer functions read and change, and nothing else.
GRANT SELECT (id, tenant_id, email, password_hash, role, status) ON users TO loyalty_definer;
GRANT SELECT (id, status) ON tenants TO loyalty_definer;
GRANT SELECT (id, tenant_id, prefix, key_hash, scopes, revoked_at) ON api_keys TO loyalty_definer;
GRANT SELECT (id, tenant_id, token_hash) ON refresh_tokens TO loyalty_definer;
GRANT SELECT (tenant_id, channel, address, config) ON channel_routes TO loyalty_definer;
GRANT SELECT (id, tenant_id, kind, payload, status, attempts, max_attempts, run_at, locked_by,
              lease_until),
      UPDATE (status, attempts, run_at, locked_by, lease_until, last_error, updated_at)
  ON jobs TO loyalty_definer;
CREATE POLICY definer_lookup ON users FOR SELECT TO loyalty_definer USING (true);
CREATE POLICY definer_lookup ON tenants FOR SELECT TO loyalty_definer USING (true);
CREATE POLICY definer_lookup ON api_keys FOR SELECT TO loyalty_definer USING (true);
CREATE POLICY definer_lookup ON refresh_tokens FOR SELECT TO loyalty_definer USING (true);
CREATE POLICY definer_lookup ON channel_routes FOR SELECT TO loyalty_definer USING (true);
CREATE POLICY definer_queue ON jobs TO loyalty_definer USING (true) WITH CHECK (true);

-- Pinned search paths, pg_temp last.
ALTER FUNCTION auth_find_user(text) SET search_path = public, pg_temp;
ALTER FUNCTION auth_find_api_key(text) SET search_path = public, pg_temp;
ALTER FUNCTION auth_find_refresh_token(text) SET search_path = public, pg_temp;
ALTER FUNCTION channel_find_tenant(text, text) SET search_path = public, pg_temp;
ALTER FUNCTION jobs_claim(text, integer, integer) SET search_path = public, pg_temp;
ALTER FUNCTION jobs_finish(bigint, text) SET search_path = public, pg_temp;
ALTER FUNCTION jobs_fail(bigint, text, text, integer, integer, boolean)
  SET search_path = public, pg_temp;
ALTER FUNCTION jobs_release(text, bigint[]) SET search_path = public, pg_temp;
ALTER FUNCTION jobs_finish_all(bigint[], text) SET search_path = public, pg_temp;

-- Every function of the schema to loyalty_definer (the SECURITY INVOKER ones run with their
-- caller's rights whoever owns them; owning them all keeps "no function owned by a superuser"
-- true without exceptions). The new owner needs CREATE on the schema for the hand-over itself,
-- and only for it.
GRANT CREATE ON SCHEMA public TO loyalty_definer;
DO $$
DECLARE
  f regprocedure;
BEGIN
  FOR f IN
    SELECT p.oid::regprocedure FROM pg_proc p
     WHERE p.pronamespace = 'public'::regnamespace
       AND NOT EXISTS (SELECT FROM pg_depend d
                        WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                          AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO loyalty_definer', f);
  END LOOP;
END $$;
REVOKE CREATE ON SCHEMA public FROM loyalty_definer;

-- loyalty_app: UPDATE on the columns it updates, table by table. (Revoking the table-wide
-- privilege revokes the column privileges with it; points_ledger's is granted again.)
REVOKE UPDATE ON tenants, users, refresh_tokens, api_keys, customers, budgets, campaigns,
  rewards, events, issuances, reward_codes, webhook_subscriptions, outbox, webhook_deliveries,
  jobs, notifications, channel_sessions, rules, points_ledger FROM loyalty_app;
-- catalog: rules_version bumped when rules, rewards or campaigns change
GRANT UPDATE (rules_version, updated_at) ON tenants TO loyalty_app;
-- auth: login, rehash, disable
GRANT UPDATE (last_login_at, password_hash, status, updated_at) ON users TO loyalty_app;
-- auth: rotation, reuse detection, logout, disable
GRANT UPDATE (revoked_at, replaced_by) ON refresh_tokens TO loyalty_app;
-- auth: last use, revocation
GRANT UPDATE (last_used_at, revoked_at) ON api_keys TO loyalty_app;
-- customers: status and consent; points credited, debited and expired
GRANT UPDATE (status, consent_at, points_balance, updated_at) ON customers TO loyalty_app;
-- budgets: the counters (budget_lock_current, budget_topup, budget_reserve, budget_settle,
-- budget_charge_all), the period, the soft-cap notice
GRANT UPDATE (total_minor, reserved_minor, utilized_minor, spent_minor, period_start,
              threshold_notified_period, updated_at) ON budgets TO loyalty_app;
-- campaigns: PATCH
GRANT UPDATE (name, description, status, starts_at, ends_at, budget_id, updated_at)
  ON campaigns TO loyalty_app;
-- rewards: PATCH, stock taken and returned
GRANT UPDATE (name, description, type, config, cost_minor, currency, points, stock,
              requires_pin, valid_from, valid_until, validity_days, budget_id, active,
              updated_at) ON rewards TO loyalty_app;
-- rules: PATCH, import, deactivation
GRANT UPDATE (name, description, event_type, conditions, reward_id, budget_id, campaign_id,
              per_customer_max, per_customer_period, global_max, global_period,
              cooldown_seconds, priority, active, valid_from, valid_until, stop_processing,
              updated_at) ON rules TO loyalty_app;
-- events: the stored answer
GRANT UPDATE (status, response_status, response) ON events TO loyalty_app;
-- issuances: the lifecycle, the pool code, the PIN
GRANT UPDATE (state, code, issued_at, redeemed_at, cancelled_at, cancel_reason, expired_at,
              pin_hash, pin_attempts, updated_at) ON issuances TO loyalty_app;
-- reward codes: assigned, redeemed, returned
GRANT UPDATE (status, issuance_id, assigned_at) ON reward_codes TO loyalty_app;
-- points expiry
GRANT UPDATE (expired) ON points_ledger TO loyalty_app;
