-- Outbound webhooks: subscriptions a tenant's admins manage, deliveries fanned out from the outbox
-- in the transaction that writes it, and the queue the daemon's webhook dispatcher works through.
--
-- 1. A subscription gets a description, a previous secret that still signs for 24 h after a
--    rotation, and the state of its circuit breaker: consecutive_failures (0001), paused_until
--    (0001: the breaker is open until then), failing_since (the first failure since the last
--    success: five days of it disables the subscription, disabled_reason saying why).
-- 2. Every outbox row is fanned out, by a statement trigger, into one delivery per active
--    subscription whose event_types hold its type (or "*"), in the same transaction as the change
--    it reports. The row counts as dispatched then. webhook.test rows, written by a test send,
--    go to the one subscription tested and are fanned out by nobody.
-- 3. A delivery is claimed (webhook_claim) by moving its next_attempt_at a lease ahead and
--    naming the worker: it stays 'pending', so a daemon that dies mid-send leaves it due again
--    when the lease runs out, and it is sent again with the same webhook-id. webhook_record
--    keeps the attempt, settles the delivery (delivered, due again later, or failed) and moves
--    the subscription's breaker — all in one transaction, only for the worker holding the lease.

ALTER TABLE webhook_subscriptions
  ADD COLUMN description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
  ADD COLUMN previous_secret text CHECK (previous_secret LIKE 'whsec_%'),
  ADD COLUMN previous_secret_until timestamptz,
  ADD COLUMN failing_since timestamptz,
  ADD COLUMN disabled_reason text,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
  ADD CONSTRAINT webhook_subscriptions_types CHECK (cardinality(event_types) BETWEEN 1 AND 50);
CREATE INDEX webhook_subscriptions_list ON webhook_subscriptions (tenant_id, created_at, id);

ALTER TABLE outbox DROP CONSTRAINT outbox_event_type_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_event_type_check CHECK (event_type IN (
  'customer.enrolled', 'reward.issued', 'reward.redeemed', 'reward.expired', 'reward.cancelled',
  'budget.threshold', 'webhook.test'));
-- Fanned out as it is written (see 2).
ALTER TABLE outbox ALTER COLUMN dispatched_at SET DEFAULT now();
CREATE INDEX outbox_purge ON outbox (created_at);

ALTER TABLE webhook_deliveries
  ADD COLUMN leased_by text,
  ADD COLUMN last_attempt_at timestamptz,
  -- attempts before the last replay: the retry schedule counts the failures after it
  ADD COLUMN replayed_after integer NOT NULL DEFAULT 0 CHECK (replayed_after >= 0);
CREATE INDEX webhook_deliveries_list ON webhook_deliveries (tenant_id, subscription_id, id);
CREATE INDEX webhook_deliveries_by_status ON webhook_deliveries (tenant_id, status, id);
CREATE INDEX webhook_deliveries_of_outbox ON webhook_deliveries (outbox_id);

ALTER TABLE webhook_attempts
  ADD COLUMN attempt integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
  ADD COLUMN response_body text NOT NULL DEFAULT '' CHECK (octet_length(response_body) <= 4096),
  ADD COLUMN worker text NOT NULL DEFAULT '';

CREATE FUNCTION outbox_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO webhook_deliveries (tenant_id, outbox_id, subscription_id)
  SELECT n.tenant_id, n.id, s.id
    FROM new_rows n
    JOIN webhook_subscriptions s ON s.tenant_id = n.tenant_id
   WHERE s.active AND n.event_type <> 'webhook.test'
     AND (n.event_type = ANY (s.event_types) OR '*' = ANY (s.event_types));
  RETURN NULL;
END $$;
CREATE TRIGGER outbox_fan_out AFTER INSERT ON outbox REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_fan_out();

-- Claims up to p_limit due deliveries of any tenant, subscription by subscription: each active
-- subscription whose breaker is closed gets at most p_per_subscription in flight (counting those
-- other workers hold), and one whose breaker has opened and cooled down a single one (the
-- half-open probe; it is then paused for the lease so that nothing else goes to it before the
-- probe's answer). One subscription's backlog never fills a claim: a dead endpoint with a
-- million due deliveries takes its few slots and the others are claimed beside it.
CREATE INDEX webhook_deliveries_due_by_subscription ON webhook_deliveries
  (subscription_id, next_attempt_at) WHERE status = 'pending';
CREATE FUNCTION webhook_claim(p_worker text, p_limit integer, p_per_subscription integer,
                              p_lease_seconds integer, p_breaker integer)
  RETURNS TABLE (delivery_id bigint, tenant_id uuid, subscription_id uuid, url text,
                 secrets text[], message_id text, event_type text, payload jsonb,
                 created_at timestamptz, attempt integer, failures integer, probe boolean)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH subs AS (
    SELECT s.tenant_id, s.id, s.consecutive_failures >= p_breaker AS half_open,
           (SELECT count(*) FROM webhook_deliveries x
             WHERE x.subscription_id = s.id AND x.status = 'pending'
               AND x.leased_by IS NOT NULL AND x.next_attempt_at > now()) AS held
      FROM webhook_subscriptions s
     WHERE s.active AND (s.paused_until IS NULL OR s.paused_until <= now())),
  picked AS (
    SELECT d.id, subs.half_open
      FROM subs
      CROSS JOIN LATERAL (
        SELECT x.id, x.next_attempt_at FROM webhook_deliveries x
         WHERE x.subscription_id = subs.id AND x.status = 'pending'
           AND x.next_attempt_at <= now()
         ORDER BY x.next_attempt_at, x.id
         LIMIT greatest(0, CASE WHEN subs.half_open THEN 1 - subs.held
                                ELSE p_per_subscription - subs.held END)
         FOR UPDATE SKIP LOCKED) d
     ORDER BY d.next_attempt_at, d.id
     LIMIT p_limit),
  claimed AS (
    UPDATE webhook_deliveries d
       SET next_attempt_at = now() + make_interval(secs => p_lease_seconds),
           leased_by = p_worker, attempts = d.attempts + 1
      FROM picked WHERE d.id = picked.id
    RETURNING d.id, d.tenant_id, d.subscription_id, d.outbox_id, d.attempts, d.replayed_after,
              picked.half_open),
  probing AS (
    UPDATE webhook_subscriptions s
       SET paused_until = now() + make_interval(secs => p_lease_seconds)
      FROM claimed c WHERE c.half_open AND s.tenant_id = c.tenant_id AND s.id = c.subscription_id
    RETURNING s.id)
  SELECT c.id, c.tenant_id, c.subscription_id, s.url,
         CASE WHEN s.previous_secret IS NOT NULL AND s.previous_secret_until > now()
              THEN ARRAY[s.secret, s.previous_secret] ELSE ARRAY[s.secret] END,
         o.message_id, o.event_type, o.payload, o.created_at, c.attempts,
         c.attempts - 1 - c.replayed_after, c.half_open
    FROM claimed c
    JOIN webhook_subscriptions s ON s.tenant_id = c.tenant_id AND s.id = c.subscription_id
    JOIN outbox o ON o.id = c.outbox_id;
END $$;

-- Keeps one attempt and settles its delivery, for the worker that holds it (p_worker with
-- p_attempt): 'delivered'; 'retrying' when p_retry_ms says when to try again; 'failed' when it
-- is null; 'disabled' when the failure also disabled the subscription (failing for
-- p_disable_after_seconds); 'stale' when the lease had passed to another worker (the attempt is
-- still kept: it happened). With p_breaker > 0 the subscription's breaker follows the outcome:
-- a success closes it, the p_breaker-th consecutive failure opens it for p_cooldown_seconds
-- (its due deliveries wait as long).
CREATE FUNCTION webhook_record(p_delivery bigint, p_worker text, p_attempt integer,
                               p_status integer, p_error text, p_duration_ms integer,
                               p_body text, p_retry_ms bigint, p_breaker integer,
                               p_cooldown_seconds integer, p_disable_after_seconds integer)
  RETURNS text
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
DECLARE
  d webhook_deliveries%ROWTYPE;
  ok boolean := p_status BETWEEN 200 AND 299;
  failures integer;
  since timestamptz;
  outcome text;
BEGIN
  SELECT * INTO d FROM webhook_deliveries WHERE id = p_delivery FOR UPDATE;
  IF NOT FOUND THEN
    RETURN 'stale';
  END IF;
  INSERT INTO webhook_attempts (tenant_id, delivery_id, status_code, error, duration_ms, attempt,
                                response_body, worker)
  VALUES (d.tenant_id, d.id, nullif(p_status, 0), nullif(p_error, ''), p_duration_ms, p_attempt,
          left(coalesce(p_body, ''), 1024), p_worker);
  IF d.status <> 'pending' OR d.leased_by IS DISTINCT FROM p_worker OR d.attempts <> p_attempt THEN
    RETURN 'stale';
  END IF;
  IF ok THEN
    outcome := 'delivered';
    UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), leased_by = NULL,
           last_status_code = p_status, last_error = NULL, last_attempt_at = now()
     WHERE id = d.id;
  ELSIF p_retry_ms IS NOT NULL THEN
    outcome := 'retrying';
    UPDATE webhook_deliveries
       SET next_attempt_at = now() + p_retry_ms * interval '1 millisecond', leased_by = NULL,
           last_status_code = nullif(p_status, 0), last_error = nullif(p_error, ''),
           last_attempt_at = now()
     WHERE id = d.id;
  ELSE
    outcome := 'failed';
    UPDATE webhook_deliveries SET status = 'failed', leased_by = NULL,
           last_status_code = nullif(p_status, 0), last_error = nullif(p_error, ''),
           last_attempt_at = now()
     WHERE id = d.id;
  END IF;
  IF p_breaker <= 0 THEN
    RETURN outcome;
  END IF;
  IF ok THEN
    -- Only when there is something to close: a healthy subscription's row is not rewritten
    -- at every delivery.
    UPDATE webhook_subscriptions SET consecutive_failures = 0, failing_since = NULL,
           paused_until = NULL
     WHERE tenant_id = d.tenant_id AND id = d.subscription_id
       AND (consecutive_failures <> 0 OR failing_since IS NOT NULL OR paused_until IS NOT NULL);
    RETURN outcome;
  END IF;
  UPDATE webhook_subscriptions
     SET consecutive_failures = consecutive_failures + 1,
         failing_since = coalesce(failing_since, now()),
         paused_until = CASE WHEN consecutive_failures + 1 >= p_breaker
                             THEN now() + make_interval(secs => p_cooldown_seconds)
                             ELSE paused_until END
   WHERE tenant_id = d.tenant_id AND id = d.subscription_id
  RETURNING consecutive_failures, failing_since INTO failures, since;
  IF failures >= p_breaker THEN
    -- Open: its due deliveries wait for the cooldown instead of being read at every claim.
    UPDATE webhook_deliveries
       SET next_attempt_at = now() + make_interval(secs => p_cooldown_seconds)
     WHERE tenant_id = d.tenant_id AND subscription_id = d.subscription_id
       AND status = 'pending' AND leased_by IS NULL
       AND next_attempt_at < now() + make_interval(secs => p_cooldown_seconds);
  END IF;
  IF since <= now() - make_interval(secs => p_disable_after_seconds) THEN
    UPDATE webhook_subscriptions
       SET active = false, updated_at = now(),
           disabled_reason = format('every delivery failed since %s',
                                    to_char(since AT TIME ZONE 'UTC',
                                            'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
     WHERE tenant_id = d.tenant_id AND id = d.subscription_id AND active;
    IF FOUND THEN
      INSERT INTO audit_log (tenant_id, actor_type, actor_id, action, entity_type, entity_id,
                             after)
      VALUES (d.tenant_id, 'system', 'webhooks', 'webhook.disable', 'webhook',
              d.subscription_id::text,
              jsonb_build_object('active', false, 'failing_since', since));
      RETURN 'disabled';
    END IF;
  END IF;
  RETURN outcome;
END $$;

REVOKE ALL ON FUNCTION webhook_claim(text, integer, integer, integer, integer),
  webhook_record(bigint, text, integer, integer, text, integer, text, bigint, integer, integer,
                 integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_claim(text, integer, integer, integer, integer),
  webhook_record(bigint, text, integer, integer, text, integer, text, bigint, integer, integer,
                 integer) TO loyalty_app;

-- What the two functions read and change, across tenants (0070's rule: the definer sees only
-- what its functions need).
GRANT SELECT (id, tenant_id, url, secret, previous_secret, previous_secret_until, active,
              consecutive_failures, paused_until, failing_since),
      UPDATE (consecutive_failures, paused_until, failing_since, active, disabled_reason,
              updated_at)
  ON webhook_subscriptions TO loyalty_definer;
GRANT SELECT, UPDATE (status, next_attempt_at, leased_by, attempts, last_status_code,
                      last_error, last_attempt_at, delivered_at)
  ON webhook_deliveries TO loyalty_definer;
GRANT SELECT (id, tenant_id, message_id, event_type, payload, created_at) ON outbox
  TO loyalty_definer;
GRANT INSERT ON webhook_attempts, audit_log TO loyalty_definer;
GRANT USAGE ON SEQUENCE webhook_attempts_id_seq, audit_log_id_seq TO loyalty_definer;
CREATE POLICY definer_queue ON webhook_deliveries TO loyalty_definer USING (true)
  WITH CHECK (true);
CREATE POLICY definer_lookup ON webhook_subscriptions TO loyalty_definer USING (true)
  WITH CHECK (true);
CREATE POLICY definer_lookup ON outbox FOR SELECT TO loyalty_definer USING (true);
CREATE POLICY definer_record ON webhook_attempts FOR INSERT TO loyalty_definer WITH CHECK (true);
CREATE POLICY definer_record ON audit_log FOR INSERT TO loyalty_definer WITH CHECK (true);

-- loyalty_app: subscriptions are managed through the API (0070 left it no UPDATE on them);
-- removing one removes its deliveries and their attempts; replays requeue deliveries.
GRANT UPDATE (url, description, event_types, active, secret, previous_secret,
              previous_secret_until, consecutive_failures, paused_until, failing_since,
              disabled_reason, updated_at)
  ON webhook_subscriptions TO loyalty_app;
GRANT UPDATE (status, next_attempt_at, leased_by, replayed_after) ON webhook_deliveries
  TO loyalty_app;
GRANT DELETE ON webhook_deliveries, webhook_attempts TO loyalty_app;

-- Handed over to loyalty_definer like every function (0070); the hand-over needs CREATE.
GRANT CREATE ON SCHEMA public TO loyalty_definer;
ALTER FUNCTION outbox_fan_out() OWNER TO loyalty_definer;
ALTER FUNCTION webhook_claim(text, integer, integer, integer, integer) OWNER TO loyalty_definer;
ALTER FUNCTION webhook_record(bigint, text, integer, integer, text, integer, text, bigint, integer,
                              integer, integer) OWNER TO loyalty_definer;
REVOKE CREATE ON SCHEMA public FROM loyalty_definer;

-- The queue's state across tenants, for /metrics.
CREATE FUNCTION webhook_backlog()
  RETURNS TABLE (pending bigint, oldest_pending_seconds double precision, paused bigint,
                 failing bigint, disabled bigint)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
BEGIN
  RETURN QUERY
  SELECT (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'),
         coalesce((SELECT extract(epoch FROM now() - min(created_at))::double precision
                     FROM webhook_deliveries WHERE status = 'pending'), 0),
         (SELECT count(*) FROM webhook_subscriptions WHERE active AND paused_until > now()),
         (SELECT count(*) FROM webhook_subscriptions WHERE active AND failing_since IS NOT NULL),
         (SELECT count(*) FROM webhook_subscriptions WHERE NOT active);
END $$;
REVOKE ALL ON FUNCTION webhook_backlog() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_backlog() TO loyalty_app;
GRANT CREATE ON SCHEMA public TO loyalty_definer;
ALTER FUNCTION webhook_backlog() OWNER TO loyalty_definer;
REVOKE CREATE ON SCHEMA public FROM loyalty_definer;
