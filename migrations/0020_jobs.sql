-- The background worker's view of the job queue. Jobs belong to tenants and row-level security
-- walls them apart, but a worker serves every tenant: it reaches the queue only through these
-- narrow SECURITY DEFINER functions (they run as the owner, whose operator_access policy sees all
-- rows), and does each job's work afterwards inside that job's tenant transaction.
--
-- Claiming uses FOR UPDATE SKIP LOCKED, so any number of workers in any number of daemons share
-- one queue and no job is claimed twice. A claim is a lease: a worker that dies leaves its jobs
-- 'running' until lease_until, after which any worker takes them again.

-- Claims up to p_limit due jobs for p_worker: pending ones whose run_at has come, and running
-- ones whose lease expired (their worker died). Each is marked running, leased for
-- p_lease_seconds, and its attempt counted. A job whose lease expired after its last attempt
-- goes dead instead: it kept killing its worker.
CREATE FUNCTION jobs_claim(p_worker text, p_limit integer, p_lease_seconds integer)
  RETURNS TABLE (id bigint, tenant_id uuid, kind text, payload jsonb, attempts integer,
                 max_attempts integer)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
#variable_conflict use_column
BEGIN
  UPDATE jobs j SET status = 'dead', lease_until = NULL, updated_at = now(),
         last_error = format('lease of %s expired after attempt %s of %s', j.locked_by,
                             j.attempts, j.max_attempts)
   WHERE j.id IN (SELECT x.id FROM jobs x
                   WHERE x.status = 'running' AND x.lease_until < now()
                     AND x.attempts >= x.max_attempts
                   FOR UPDATE SKIP LOCKED);

  RETURN QUERY
  WITH expired AS (
    SELECT x.id FROM jobs x
     WHERE x.status = 'running' AND x.lease_until < now()
     ORDER BY x.lease_until
     LIMIT p_limit
     FOR UPDATE SKIP LOCKED),
  due AS (
    SELECT x.id FROM jobs x
     WHERE x.status = 'pending' AND x.run_at <= now()
     ORDER BY x.run_at, x.id
     LIMIT p_limit
     FOR UPDATE SKIP LOCKED),
  picked AS (
    SELECT e.id FROM expired e
    UNION ALL
    SELECT d.id FROM due d
    LIMIT p_limit)
  UPDATE jobs j SET status = 'running', locked_by = p_worker,
         lease_until = now() + make_interval(secs => p_lease_seconds),
         attempts = j.attempts + 1, updated_at = now()
    FROM picked WHERE j.id = picked.id
  RETURNING j.id, j.tenant_id, j.kind, j.payload, j.attempts, j.max_attempts;
END $$;

-- Marks a job done; false when p_worker no longer holds it (its lease expired and another
-- worker took it — handlers are idempotent, so that costs a repeat, never a double effect).
CREATE FUNCTION jobs_finish(p_id bigint, p_worker text)
  RETURNS boolean
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
  WITH done AS (
    UPDATE jobs SET status = 'done', lease_until = NULL, last_error = NULL, updated_at = now()
     WHERE id = p_id AND status = 'running' AND locked_by = p_worker
    RETURNING 1)
  SELECT EXISTS (SELECT FROM done) $$;

-- Records a failed attempt. The job goes back to pending with run_at pushed back exponentially
-- (p_base_ms * 2^(attempts-1), at most p_max_ms, with jitter of up to half of it so failing
-- jobs of many workers spread out), or dead once max_attempts are used up or when the failure
-- is permanent. last_error is kept either way. Returns the new status, or NULL when p_worker no
-- longer holds the job.
CREATE FUNCTION jobs_fail(p_id bigint, p_worker text, p_error text, p_base_ms integer,
                          p_max_ms integer, p_permanent boolean)
  RETURNS text
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
  UPDATE jobs SET
    status = CASE WHEN p_permanent OR attempts >= max_attempts THEN 'dead' ELSE 'pending' END,
    run_at = CASE WHEN p_permanent OR attempts >= max_attempts THEN run_at
                  ELSE now() + make_interval(secs => (
                         least(p_base_ms::double precision * power(2, greatest(attempts - 1, 0)),
                               p_max_ms::double precision)
                         * (0.5 + random() * 0.5)) / 1000.0) END,
    lease_until = NULL, last_error = left(p_error, 2000), updated_at = now()
   WHERE id = p_id AND status = 'running' AND locked_by = p_worker
  RETURNING status $$;

-- Hands claimed jobs back (a stopping worker that has not started them): pending again, due at
-- once, lease cleared, the claim's attempt not counted. Returns how many were released.
CREATE FUNCTION jobs_release(p_worker text, p_ids bigint[])
  RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
  WITH released AS (
    UPDATE jobs SET status = 'pending', attempts = greatest(attempts - 1, 0), locked_by = NULL,
           lease_until = NULL, run_at = now(), updated_at = now()
     WHERE id = ANY (p_ids) AND status = 'running' AND locked_by = p_worker
    RETURNING 1)
  SELECT count(*)::integer FROM released $$;

REVOKE ALL ON FUNCTION jobs_claim(text, integer, integer), jobs_finish(bigint, text),
  jobs_fail(bigint, text, text, integer, integer, boolean), jobs_release(text, bigint[])
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION jobs_claim(text, integer, integer), jobs_finish(bigint, text),
  jobs_fail(bigint, text, text, integer, integer, boolean), jobs_release(text, bigint[])
  TO loyalty_app;
