-- What /metrics reads of the notice queue across tenants (like metrics_job_queue, 0101): queued
-- notifications due now, and the others (waiting out a retry's backoff or held by a sender's
-- lease), and how long the oldest due one has waited. Counts only, through notifications_due.
CREATE FUNCTION metrics_notice_queue()
  RETURNS TABLE (due bigint, waiting bigint, oldest_due_seconds double precision)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
  SELECT (SELECT count(*) FROM notifications WHERE status = 'queued' AND next_attempt_at <= now()),
         (SELECT count(*) FROM notifications WHERE status = 'queued' AND next_attempt_at > now()),
         coalesce((SELECT extract(epoch FROM now() - min(next_attempt_at))::double precision
                     FROM notifications WHERE status = 'queued' AND next_attempt_at <= now()), 0) $$;

REVOKE ALL ON FUNCTION metrics_notice_queue() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metrics_notice_queue() TO loyalty_app;
GRANT CREATE ON SCHEMA public TO loyalty_definer;
ALTER FUNCTION metrics_notice_queue() OWNER TO loyalty_definer;
REVOKE CREATE ON SCHEMA public FROM loyalty_definer;
