-- WhatsApp (lib/whatsapp, lib/notices): messages customers send are queued once per wamid and
-- answered by the worker; notifications become the queue of everything sent to a customer —
-- notices (a reward issued with its code and PIN, a reward used) and the conversation's replies —
-- which the daemon's notice sender delivers through the Graph API.

-- One row per message received, kept after it is answered (without its content) so that Meta's
-- redeliveries, which come for up to 7 days, are recognised; `loyaltyctl jobs purge` deletes
-- rows older than that.
CREATE TABLE whatsapp_inbox (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  wamid text NOT NULL CHECK (length(wamid) BETWEEN 1 AND 512),
  message jsonb,  -- what the customer sent, until it has been answered
  received_at timestamptz NOT NULL DEFAULT now(),
  answered_at timestamptz,
  PRIMARY KEY (tenant_id, wamid)
);
CREATE INDEX whatsapp_inbox_received ON whatsapp_inbox (received_at);
ALTER TABLE whatsapp_inbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE whatsapp_inbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON whatsapp_inbox USING (tenant_id = app_tenant_id())
  WITH CHECK (tenant_id = app_tenant_id());
CREATE POLICY operator_access ON whatsapp_inbox TO CURRENT_USER USING (true) WITH CHECK (true);
GRANT SELECT, INSERT ON whatsapp_inbox TO loyalty_app;
GRANT UPDATE (message, answered_at) ON whatsapp_inbox TO loyalty_app;

-- When the customer last wrote: notices within 24 hours of it (Meta's customer-service window)
-- go as ordinary messages, later ones as the tenant's approved templates.
ALTER TABLE customers ADD COLUMN whatsapp_seen_at timestamptz;
GRANT UPDATE (whatsapp_seen_at) ON customers TO loyalty_app;

-- A reply goes to whoever wrote (`recipient`, their wa_id), member or not; a notice to the
-- customer's phone, read when it is sent. `reply_to` (the wamid answered) makes one reply per
-- message. The queue: due at next_attempt_at; a claim moves next_attempt_at past the lease, so a
-- sender that dies leaves the row to be claimed again; `attempts` tells a late outcome from the
-- current one. Once sent or failed the recipient and the PIN are removed.
ALTER TABLE notifications
  ALTER COLUMN customer_id DROP NOT NULL,
  ADD COLUMN recipient text CHECK (length(recipient) <= 200),
  ADD COLUMN reply_to text CHECK (length(reply_to) <= 512),
  ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN sent_as text CHECK (sent_as IN ('message', 'template')),
  ADD COLUMN error_code bigint,
  ADD COLUMN sent_at timestamptz,
  ADD CONSTRAINT notifications_addressed CHECK (customer_id IS NOT NULL OR reply_to IS NOT NULL);
ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_status_check
  CHECK (status IN ('queued', 'sent', 'delivered', 'read', 'failed', 'cancelled'));
CREATE UNIQUE INDEX notifications_reply ON notifications (tenant_id, reply_to)
  WHERE reply_to IS NOT NULL;
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'queued';
CREATE INDEX notifications_of_customer ON notifications (tenant_id, customer_id, created_at);
GRANT UPDATE (status, provider_message_id, recipient, next_attempt_at, sent_as, error_code,
              sent_at, last_error, updated_at)
  ON notifications TO loyalty_app;

-- Claims due notifications across tenants for one sender: each claim counts an attempt and
-- holds the row for p_lease_seconds. Returns the rows' ids, tenants and attempt numbers.
CREATE FUNCTION notifications_claim(p_limit integer, p_lease_seconds integer)
  RETURNS TABLE (id uuid, tenant_id uuid, attempts integer)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  UPDATE notifications n
     SET next_attempt_at = now() + make_interval(secs => p_lease_seconds),
         attempts = n.attempts + 1, updated_at = now()
   WHERE n.id IN (SELECT x.id FROM notifications x
                   WHERE x.status = 'queued' AND x.next_attempt_at <= now()
                   ORDER BY x.next_attempt_at
                   LIMIT p_limit
                   FOR UPDATE SKIP LOCKED)
  RETURNING n.id, n.tenant_id, n.attempts;
END $$;
REVOKE ALL ON FUNCTION notifications_claim(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION notifications_claim(integer, integer) TO loyalty_app;
GRANT SELECT (id, tenant_id, status, next_attempt_at, attempts),
      UPDATE (next_attempt_at, attempts, updated_at)
  ON notifications TO loyalty_definer;
CREATE POLICY definer_queue ON notifications TO loyalty_definer USING (true) WITH CHECK (true);
GRANT CREATE ON SCHEMA public TO loyalty_definer;
ALTER FUNCTION notifications_claim(integer, integer) OWNER TO loyalty_definer;
REVOKE CREATE ON SCHEMA public FROM loyalty_definer;

-- The app-secret files of WhatsApp numbers that have their own (loyaltyctl channel add
-- --app-secret-file): the daemon checks a webhook's signature with them before it reads the
-- body, so before any tenant is known. Paths only; the secrets stay in the files.
CREATE FUNCTION channel_whatsapp_secret_files()
  RETURNS TABLE (address text, app_secret_file text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT r.address, r.config->>'app_secret_file' FROM channel_routes r
         JOIN tenants t ON t.id = r.tenant_id
        WHERE r.channel = 'whatsapp' AND t.status = 'active'
          AND coalesce(r.config->>'app_secret_file', '') <> '' $$;
REVOKE ALL ON FUNCTION channel_whatsapp_secret_files() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION channel_whatsapp_secret_files() TO loyalty_app;
GRANT CREATE ON SCHEMA public TO loyalty_definer;
ALTER FUNCTION channel_whatsapp_secret_files() OWNER TO loyalty_definer;
REVOKE CREATE ON SCHEMA public FROM loyalty_definer;
