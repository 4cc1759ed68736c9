-- Segments and profiles (issue 17).
--
-- customer_consents: every change of a customer's consent (given or withdrawn), on which channel,
-- when and by whom, append-only like audit_log; customers.consent_at and consent_channel keep the
-- current state.
--
-- segments: a tenant's named JsonLogic conditions over the customer and their history (the rules
-- engine's); the names of those a customer meets are kept in customers.segments, which the rules'
-- in_segment reads. Names not defined here (set at enrolment) are left alone by a recompute.
--
-- A customer's membership is recomputed by a job after each of their events (kind
-- segments.customer, payload {"customer_id"}); one pending job per customer is enough, so a
-- second is not queued while one waits (found through jobs_segments_pending).

CREATE TABLE customer_consents (
  id bigserial PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  customer_id uuid NOT NULL,
  given boolean NOT NULL,
  channel text NOT NULL CHECK (channel IN ('pos', 'whatsapp', 'ussd', 'web', 'api')),
  actor_type text NOT NULL CHECK (actor_type IN ('user', 'api_key', 'operator', 'system')),
  actor_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers(tenant_id, id)
);
CREATE INDEX customer_consents_history ON customer_consents (tenant_id, customer_id, id);
CREATE TRIGGER customer_consents_append_only BEFORE UPDATE OR DELETE ON customer_consents
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
ALTER TABLE customer_consents ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_consents FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_consents USING (tenant_id = app_tenant_id())
  WITH CHECK (tenant_id = app_tenant_id());
CREATE POLICY operator_access ON customer_consents TO CURRENT_USER USING (true) WITH CHECK (true);
GRANT SELECT, INSERT ON customer_consents TO loyalty_app;
GRANT USAGE ON SEQUENCE customer_consents_id_seq TO loyalty_app;

-- The consent customers already gave, as the first entry of their history.
INSERT INTO customer_consents (tenant_id, customer_id, given, channel, actor_type, created_at)
SELECT tenant_id, id, true, coalesce(consent_channel, 'api'), 'system', consent_at
  FROM customers WHERE consent_at IS NOT NULL;

CREATE TABLE segments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
  conditions jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, name)
);
ALTER TABLE segments ENABLE ROW LEVEL SECURITY;
ALTER TABLE segments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON segments USING (tenant_id = app_tenant_id())
  WITH CHECK (tenant_id = app_tenant_id());
CREATE POLICY operator_access ON segments TO CURRENT_USER USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, DELETE ON segments TO loyalty_app;
GRANT UPDATE (name, description, conditions, updated_at) ON segments TO loyalty_app;

-- The members of a segment, for GET .../segments/:id/customers (oldest first, as the customer
-- list pages).
CREATE INDEX customers_segments ON customers USING gin (segments);

-- Not unique: a job the worker gives back (a failed attempt, a release at shutdown) turns
-- pending again beside one queued meanwhile, and a recompute twice is harmless. One customer's
-- events queue theirs one after the other (each holds the customer's row), so each sees the
-- one pending before it.
CREATE INDEX jobs_segments_pending ON jobs (tenant_id, (payload->>'customer_id'))
  WHERE kind = 'segments.customer' AND status = 'pending';
