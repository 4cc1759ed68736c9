-- The role backups are taken as (loyaltyctl backup create runs `pg_dump --role=loyalty_backup`).
--
-- pg_dump under row-level security either refuses (row_security = off, its default) or dumps
-- only the rows a policy lets it see, and every tenant table forces row-level security, so the
-- role that dumps must be BYPASSRLS. It gets nothing else: no login (the operator CLI connects
-- as the owner and switches to it with SET ROLE, so no password exists to leak), no superuser, no
-- CREATEDB/CREATEROLE, and SELECT only — on every table and sequence of the schema now and, by
-- default privileges, on those later migrations create. It owns nothing and may write nothing.
--
-- BYPASSRLS can be given only by a superuser (PostgreSQL 15): where the migrating role is not
-- one (an external server), a superuser creates the role first, with exactly these attributes,
-- and grants it to the migrating role:
--   CREATE ROLE loyalty_backup NOLOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
--   GRANT loyalty_backup TO <owner>;
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'loyalty_backup') THEN
    CREATE ROLE loyalty_backup NOLOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
  -- SET ROLE needs membership (a superuser needs none).
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
     AND NOT pg_has_role(current_user, 'loyalty_backup', 'MEMBER') THEN
    EXECUTE format('GRANT loyalty_backup TO %I', current_user);
  END IF;
END $$;

GRANT USAGE ON SCHEMA public TO loyalty_backup;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO loyalty_backup;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO loyalty_backup;
-- Tables and sequences that later migrations (run by this same role) create.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO loyalty_backup;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON SEQUENCES TO loyalty_backup;
