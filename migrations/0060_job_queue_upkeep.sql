-- The job queue under sustained load. Every job passes through 'pending' and 'running', and each
-- change of status leaves a dead entry in the partial indexes jobs_due and jobs_leased until
-- VACUUM removes it. With autovacuum's defaults a table is vacuumed after a fifth of its rows
-- changed, and done jobs stay in the table, so the bigger the history the rarer the vacuum and
-- the more dead entries the worker walks: after some 180,000 jobs, marking a batch of 16 done
-- took 3 ms instead of 0.2 ms (scripts/bench with pg_stat_statements).

-- 1. Vacuum and analyze the queue after a fixed number of changes, however large it grows.
ALTER TABLE jobs SET (
  autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 5000,
  autovacuum_vacuum_insert_scale_factor = 0,
  autovacuum_vacuum_insert_threshold = 20000,
  autovacuum_analyze_scale_factor = 0,
  autovacuum_analyze_threshold = 5000
);

-- 2. A batch marked done by primary key, job by job, as jobs_finish marks one. The one-statement
--    form, id = ANY(p_ids) with status = 'running', let the planner pick a bitmap scan of
--    jobs_leased, which visits every entry of a running job since the last vacuum (dead or not)
--    and, unlike an index scan, never marks the dead ones to be skipped next time.
CREATE OR REPLACE FUNCTION jobs_finish_all(p_ids bigint[], p_worker text)
  RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
DECLARE
  job_id bigint;
  n integer := 0;
BEGIN
  FOREACH job_id IN ARRAY p_ids LOOP
    IF jobs_finish(job_id, p_worker) THEN
      n := n + 1;
    END IF;
  END LOOP;
  RETURN n;
END $$;
