-- Referrals (issue 17). Every customer has a referral code: 8 characters of an alphabet with no
-- 0/O or 1/I (32 symbols, 2^40 codes), unique in its tenant, drawn when the customer is inserted
-- (the trigger below draws again on the rare code the tenant already has) and backfilled here
-- for the customers there are. A customer who joins with another's code is linked to them in
-- `referrals` (one referrer at most: referee_id is unique; never themselves); the referral is
-- completed, exactly once, by the referee's first qualifying event (the event pipeline's one
-- call into lib/src/referrals, with a conditional UPDATE), which queues the job that processes
-- the two `referral.completed` events and the outbox row of the same name.
--
-- customers.referral_open is true while the customer has a referral not yet completed: the
-- pipeline reads it with the customer row it locks anyway, so that a customer without one (and
-- a tenant with no referrals at all) costs nothing more per event.

CREATE FUNCTION referral_code_new() RETURNS text
  LANGUAGE sql VOLATILE
  AS $$
  SELECT string_agg(substr('23456789ABCDEFGHJKLMNPQRSTUVWXYZ', 1 + floor(random() * 32)::int, 1),
                    '')
    FROM generate_series(1, 8)
$$;

ALTER TABLE customers
  ADD COLUMN referral_code text,
  ADD COLUMN referral_open boolean NOT NULL DEFAULT false;

UPDATE customers SET referral_code = referral_code_new();
-- A code drawn twice in a tenant is drawn again until none is.
DO $$
BEGIN
  LOOP
    UPDATE customers c SET referral_code = referral_code_new()
      FROM (SELECT id, row_number() OVER (PARTITION BY tenant_id, referral_code ORDER BY id) AS n
              FROM customers) d
     WHERE d.id = c.id AND d.n > 1;
    EXIT WHEN NOT FOUND;
  END LOOP;
END $$;

ALTER TABLE customers
  ALTER COLUMN referral_code SET NOT NULL,
  ADD CONSTRAINT customers_referral_code_format CHECK (referral_code ~ '^[2-9A-HJ-NP-Z]{8}$');
CREATE UNIQUE INDEX customers_referral_code_key ON customers (tenant_id, referral_code);

-- Runs as the inserting role, under its row-level security: it sees the tenant's codes.
CREATE FUNCTION customers_referral_code() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  IF NEW.referral_code IS NULL THEN
    LOOP
      NEW.referral_code := referral_code_new();
      EXIT WHEN NOT EXISTS (SELECT 1 FROM customers
                             WHERE tenant_id = NEW.tenant_id AND referral_code = NEW.referral_code);
    END LOOP;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER customers_referral_code BEFORE INSERT ON customers
  FOR EACH ROW EXECUTE FUNCTION customers_referral_code();

CREATE TABLE referrals (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  referrer_id uuid NOT NULL,
  referee_id uuid NOT NULL,
  channel text NOT NULL CHECK (channel IN ('pos', 'whatsapp', 'ussd', 'web', 'api')),
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  completing_event_id uuid,
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, referee_id),
  CONSTRAINT referrals_not_self CHECK (referrer_id <> referee_id),
  CONSTRAINT referrals_completed CHECK ((completed_at IS NULL) = (completing_event_id IS NULL)),
  FOREIGN KEY (tenant_id, referrer_id) REFERENCES customers(tenant_id, id),
  FOREIGN KEY (tenant_id, referee_id) REFERENCES customers(tenant_id, id),
  FOREIGN KEY (tenant_id, completing_event_id) REFERENCES events(tenant_id, id)
);
-- A referrer's referrals, newest first; the tenant's list.
CREATE INDEX referrals_by_referrer ON referrals (tenant_id, referrer_id, created_at, id);
CREATE INDEX referrals_list ON referrals (tenant_id, created_at, id);
ALTER TABLE referrals ENABLE ROW LEVEL SECURITY;
ALTER TABLE referrals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON referrals USING (tenant_id = app_tenant_id())
  WITH CHECK (tenant_id = app_tenant_id());
CREATE POLICY operator_access ON referrals TO CURRENT_USER USING (true) WITH CHECK (true);

GRANT SELECT, INSERT ON referrals TO loyalty_app;
GRANT UPDATE (completed_at, completing_event_id) ON referrals TO loyalty_app;
GRANT UPDATE (referral_open) ON customers TO loyalty_app;

-- referral.completed joins whatever types the outbox takes (other migrations add theirs too).
DO $$
DECLARE
  def text;
BEGIN
  SELECT pg_get_constraintdef(oid) INTO def FROM pg_constraint
   WHERE conrelid = 'outbox'::regclass AND conname = 'outbox_event_type_check';
  IF position('ARRAY[' IN def) = 0 THEN
    RAISE EXCEPTION 'outbox_event_type_check is not a list: %', def;
  END IF;
  ALTER TABLE outbox DROP CONSTRAINT outbox_event_type_check;
  EXECUTE 'ALTER TABLE outbox ADD CONSTRAINT outbox_event_type_check '
          || replace(def, 'ARRAY[', 'ARRAY[''referral.completed''::text, ');
END $$;

ALTER FUNCTION referral_code_new() OWNER TO loyalty_definer;
ALTER FUNCTION customers_referral_code() OWNER TO loyalty_definer;
