-- What /metrics reads from the database across tenants: the job queue's depth by state and the
-- budgets nearest to exhaustion. The daemon's role (loyalty_app) sees one tenant at a time under
-- forced row-level security, so, like webhook_backlog() (0080), these are narrow SECURITY
-- DEFINER functions owned by loyalty_definer that return counts and ratios, never a row's data.

-- Dead jobs were found by a scan of the whole table (done jobs stay until `jobs purge`); they
-- are few, so a partial index makes counting them an index-only look-up, like jobs_due and
-- jobs_leased do for pending and running ones.
CREATE INDEX jobs_dead ON jobs (id) WHERE status = 'dead';

-- The queue by state, all tenants: due (pending and run_at passed), scheduled (pending, waiting
-- for a retry's backoff), running, dead; and how long the oldest due job has waited.
CREATE FUNCTION metrics_job_queue()
  RETURNS TABLE (due bigint, scheduled bigint, running bigint, dead bigint,
                 oldest_due_seconds double precision)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
  SELECT (SELECT count(*) FROM jobs WHERE status = 'pending' AND run_at <= now()),
         (SELECT count(*) FROM jobs WHERE status = 'pending' AND run_at > now()),
         (SELECT count(*) FROM jobs WHERE status = 'running'),
         (SELECT count(*) FROM jobs WHERE status = 'dead'),
         coalesce((SELECT extract(epoch FROM now() - min(run_at))::double precision
                     FROM jobs WHERE status = 'pending' AND run_at <= now()), 0) $$;

-- The p_limit funded budgets with the highest share of their total reserved, utilized or spent,
-- all tenants (ties by id), and how many funded budgets there are in all. A budget whose period
-- has ended counts as unused: its next use rolls it into the new period.
CREATE FUNCTION metrics_budget_utilisation(p_limit integer)
  RETURNS TABLE (tenant text, budget uuid, utilisation double precision, budgets bigint)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
  SELECT t.slug, b.id,
         CASE WHEN b.period <> 'none' AND (b.period_start IS NULL OR
                   b.period_start < budget_period_start(b.period, t.timezone, app_now()))
              THEN 0
              ELSE (b.reserved_minor + b.utilized_minor + b.spent_minor)::double precision
                   / b.total_minor END AS u,
         count(*) OVER ()
    FROM budgets b JOIN tenants t ON t.id = b.tenant_id
   WHERE b.total_minor > 0
   ORDER BY u DESC, b.id
   LIMIT greatest(p_limit, 0) $$;

GRANT SELECT (slug, timezone) ON tenants TO loyalty_definer;
GRANT SELECT (id, tenant_id, total_minor, reserved_minor, utilized_minor, spent_minor, period,
              period_start)
  ON budgets TO loyalty_definer;
CREATE POLICY definer_metrics ON budgets FOR SELECT TO loyalty_definer USING (true);

REVOKE ALL ON FUNCTION metrics_job_queue(), metrics_budget_utilisation(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metrics_job_queue(), metrics_budget_utilisation(integer) TO loyalty_app;
-- Handed over to loyalty_definer like every function (0070); the hand-over needs CREATE.
GRANT CREATE ON SCHEMA public TO loyalty_definer;
ALTER FUNCTION metrics_job_queue() OWNER TO loyalty_definer;
ALTER FUNCTION metrics_budget_utilisation(integer) OWNER TO loyalty_definer;
REVOKE CREATE ON SCHEMA public FROM loyalty_definer;
