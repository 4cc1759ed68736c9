-- Webhook dispatchers wake when there is work instead of polling for it, and an endpoint that
-- answers 410 Gone is disabled at once (Standard Webhooks: "Sender should disable the webhook
-- endpoint").

-- The fan-out tells the dispatchers (LISTEN loyalty_webhooks) that deliveries are due. A
-- notification is sent at commit, once per transaction however many rows it queued, and only
-- when a subscription matched.
CREATE OR REPLACE FUNCTION outbox_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO webhook_deliveries (tenant_id, outbox_id, subscription_id)
  SELECT n.tenant_id, n.id, s.id
    FROM new_rows n
    JOIN webhook_subscriptions s ON s.tenant_id = n.tenant_id
   WHERE s.active AND n.event_type <> 'webhook.test'
     AND (n.event_type = ANY (s.event_types) OR '*' = ANY (s.event_types));
  IF FOUND THEN
    PERFORM pg_notify('loyalty_webhooks', '');
  END IF;
  RETURN NULL;
END $$;

-- Disables the subscription of a delivery just attempted, with the reason shown to the merchant
-- and an audit row; false when the subscription was no longer active.
CREATE FUNCTION webhook_disable(p_delivery bigint, p_reason text)
  RETURNS boolean
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
DECLARE
  d webhook_deliveries%ROWTYPE;
BEGIN
  SELECT * INTO d FROM webhook_deliveries WHERE id = p_delivery;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  UPDATE webhook_subscriptions SET active = false, updated_at = now(), disabled_reason = p_reason
   WHERE tenant_id = d.tenant_id AND id = d.subscription_id AND active;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO audit_log (tenant_id, actor_type, actor_id, action, entity_type, entity_id, after)
  VALUES (d.tenant_id, 'system', 'webhooks', 'webhook.disable', 'webhook', d.subscription_id::text,
          jsonb_build_object('active', false, 'reason', p_reason));
  RETURN true;
END $$;
REVOKE ALL ON FUNCTION webhook_disable(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_disable(bigint, text) TO loyalty_app;
GRANT CREATE ON SCHEMA public TO loyalty_definer;
ALTER FUNCTION webhook_disable(bigint, text) OWNER TO loyalty_definer;
REVOKE CREATE ON SCHEMA public FROM loyalty_definer;

-- Settles many successful attempts in one statement (the common case, which webhook_record
-- handles one call per attempt): keeps each attempt, marks its delivery delivered when the worker
-- still holds it (attempt p_attempts[i] of p_workers[i]; 'stale' otherwise, the attempt kept all
-- the same) and closes the breakers of the subscriptions that had one open or failing. Returns
-- (i, outcome) for each element, i from 1.
CREATE FUNCTION webhook_delivered(p_ids bigint[], p_workers text[], p_attempts integer[],
                                  p_statuses integer[], p_durations integer[], p_bodies text[])
  RETURNS TABLE (i bigint, outcome text)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH t AS (
    SELECT * FROM unnest(p_ids, p_workers, p_attempts, p_statuses, p_durations, p_bodies)
      WITH ORDINALITY AS t(id, worker, attempt, status, duration_ms, body, i)),
  kept AS (
    INSERT INTO webhook_attempts (tenant_id, delivery_id, status_code, duration_ms, attempt,
                                  response_body, worker)
    SELECT d.tenant_id, d.id, t.status, t.duration_ms, t.attempt, left(coalesce(t.body, ''), 1024),
           t.worker
      FROM t JOIN webhook_deliveries d ON d.id = t.id),
  settled AS (
    UPDATE webhook_deliveries d
       SET status = 'delivered', delivered_at = now(), leased_by = NULL,
           last_status_code = t.status, last_error = NULL, last_attempt_at = now()
      FROM t
     WHERE d.id = t.id AND d.status = 'pending' AND d.leased_by = t.worker
       AND d.attempts = t.attempt
    RETURNING d.id, d.tenant_id, d.subscription_id),
  closed AS (
    UPDATE webhook_subscriptions s
       SET consecutive_failures = 0, failing_since = NULL, paused_until = NULL
      FROM (SELECT DISTINCT tenant_id, subscription_id FROM settled) u
     WHERE s.tenant_id = u.tenant_id AND s.id = u.subscription_id
       AND (s.consecutive_failures <> 0 OR s.failing_since IS NOT NULL
            OR s.paused_until IS NOT NULL))
  SELECT t.i, CASE WHEN settled.id IS NULL THEN 'stale' ELSE 'delivered' END
    FROM t LEFT JOIN settled ON settled.id = t.id
   ORDER BY t.i;
END $$;
REVOKE ALL ON FUNCTION webhook_delivered(bigint[], text[], integer[], integer[], integer[], text[])
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_delivered(bigint[], text[], integer[], integer[], integer[],
                                            text[]) TO loyalty_app;
GRANT CREATE ON SCHEMA public TO loyalty_definer;
ALTER FUNCTION webhook_delivered(bigint[], text[], integer[], integer[], integer[], text[])
  OWNER TO loyalty_definer;
REVOKE CREATE ON SCHEMA public FROM loyalty_definer;

-- A claim reads a subscription's due deliveries in (next_attempt_at, id) order. With only
-- next_attempt_at in the index, a backlog queued in one transaction (one now() for all) had to be
-- read whole and sorted at every claim; with id in it the claim reads just the rows it takes.
DROP INDEX webhook_deliveries_due_by_subscription;
CREATE INDEX webhook_deliveries_due_by_subscription ON webhook_deliveries
  (subscription_id, next_attempt_at, id) WHERE status = 'pending';
