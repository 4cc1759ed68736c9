-- Tiers (issue 17): per tenant, a ladder of ordered tiers (Bronze, Silver, Gold), each with the
-- threshold of a qualifying measure and an earning multiplier, under one tier policy: the measure
-- (points earned, or amount spent in minor units of the tenant's currency), its window (a
-- rolling number of days, or the calendar year in the tenant's time zone) and the grace period
-- before a downgrade. A tenant without a policy has no tiers, and its events pay nothing for
-- them (the pipeline reads the policy with the tenant's cached settings).
--
-- A customer's tier is customers.tier_id; every change of it is a row of customer_tier_history
-- (append-only) and a `tier.changed` outbox row, both written by tiers_evaluate below, the one
-- place that moves a customer between tiers: upgrades when an event changes the measure,
-- downgrades only from `loyaltyctl tiers recompute`.

CREATE TABLE tier_policies (
  tenant_id uuid PRIMARY KEY REFERENCES tenants(id),
  measure text NOT NULL CHECK (measure IN ('points_earned', 'amount_spent')),
  window_kind text NOT NULL CHECK (window_kind IN ('rolling', 'calendar_year')),
  window_days integer CHECK (window_days BETWEEN 1 AND 3660),
  grace_days integer NOT NULL DEFAULT 0 CHECK (grace_days BETWEEN 0 AND 3660),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT tier_policies_window CHECK ((window_kind = 'rolling') = (window_days IS NOT NULL))
);

-- Ranks count from 1 (the lowest tier) and are unique per tenant; the thresholds rise with the
-- rank (tiers_ladder_rises, checked at commit, so that a whole ladder can be replaced in one
-- transaction). The rank's uniqueness is deferred for the same reason.
CREATE TABLE tiers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tier_policies(tenant_id),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 60 AND name = btrim(name)),
  rank integer NOT NULL CHECK (rank BETWEEN 1 AND 20),
  threshold bigint NOT NULL CHECK (threshold >= 0),
  multiplier_bp integer NOT NULL DEFAULT 10000 CHECK (multiplier_bp BETWEEN 1 AND 100000),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, name),
  CONSTRAINT tiers_rank_key UNIQUE (tenant_id, rank) DEFERRABLE INITIALLY DEFERRED
);

CREATE FUNCTION tiers_ladder_rises() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM tiers a JOIN tiers b ON b.tenant_id = a.tenant_id AND b.rank > a.rank
              WHERE a.tenant_id = NEW.tenant_id AND b.threshold <= a.threshold) THEN
    RAISE EXCEPTION 'tier thresholds must rise with the rank' USING ERRCODE = 'check_violation',
      CONSTRAINT = 'tiers_ladder_rises';
  END IF;
  RETURN NULL;
END $$;
ALTER FUNCTION tiers_ladder_rises() OWNER TO loyalty_definer;
CREATE CONSTRAINT TRIGGER tiers_ladder_rises AFTER INSERT OR UPDATE ON tiers
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tiers_ladder_rises();

-- tier_since: when the customer reached their tier; tier_below_since: when a recompute first
-- found their measure below it (the grace period counts from there; cleared once it is back).
-- A tier removed from the ladder leaves its customers with none until they are evaluated again.
ALTER TABLE customers
  ADD COLUMN tier_id uuid,
  ADD COLUMN tier_since timestamptz,
  ADD COLUMN tier_below_since timestamptz,
  ADD CONSTRAINT customers_tier_fk FOREIGN KEY (tenant_id, tier_id)
    REFERENCES tiers(tenant_id, id) ON DELETE SET NULL (tier_id);
-- A tier's customers: what removing the tier updates (without it, a scan of every customer).
CREATE INDEX customers_by_tier ON customers (tenant_id, tier_id) WHERE tier_id IS NOT NULL;

-- Names are kept as they were: a tier may be renamed or removed later.
CREATE TABLE customer_tier_history (
  id bigserial PRIMARY KEY,
  tenant_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  from_tier text,
  to_tier text,
  reason text NOT NULL CHECK (reason IN ('upgrade', 'downgrade')),
  measure bigint NOT NULL,
  event_id uuid,
  changed_at timestamptz NOT NULL DEFAULT app_now(),
  CHECK (from_tier IS DISTINCT FROM to_tier),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers(tenant_id, id)
);
CREATE INDEX customer_tier_history_customer ON customer_tier_history (tenant_id, customer_id, id);
CREATE TRIGGER customer_tier_history_append_only BEFORE UPDATE OR DELETE ON customer_tier_history
  FOR EACH ROW EXECUTE FUNCTION refuse_change();

ALTER TABLE tier_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE tier_policies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tier_policies USING (tenant_id = app_tenant_id())
  WITH CHECK (tenant_id = app_tenant_id());
CREATE POLICY operator_access ON tier_policies TO CURRENT_USER USING (true) WITH CHECK (true);
ALTER TABLE tiers ENABLE ROW LEVEL SECURITY;
ALTER TABLE tiers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tiers USING (tenant_id = app_tenant_id())
  WITH CHECK (tenant_id = app_tenant_id());
CREATE POLICY operator_access ON tiers TO CURRENT_USER USING (true) WITH CHECK (true);
ALTER TABLE customer_tier_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_tier_history FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_tier_history USING (tenant_id = app_tenant_id())
  WITH CHECK (tenant_id = app_tenant_id());
CREATE POLICY operator_access ON customer_tier_history TO CURRENT_USER USING (true)
  WITH CHECK (true);

GRANT SELECT, INSERT, DELETE ON tier_policies, tiers TO loyalty_app;
GRANT UPDATE (measure, window_kind, window_days, grace_days, updated_at) ON tier_policies
  TO loyalty_app;
GRANT UPDATE (rank, threshold, multiplier_bp, updated_at) ON tiers TO loyalty_app;
GRANT UPDATE (tier_id, tier_since, tier_below_since) ON customers TO loyalty_app;
GRANT SELECT, INSERT ON customer_tier_history TO loyalty_app;
GRANT USAGE ON SEQUENCE customer_tier_history_id_seq TO loyalty_app;

ALTER TABLE outbox DROP CONSTRAINT outbox_event_type_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_event_type_check CHECK (event_type IN (
  'customer.enrolled', 'reward.issued', 'reward.redeemed', 'reward.expired', 'reward.cancelled',
  'budget.threshold', 'webhook.test', 'points.earned', 'points.spent', 'points.reversed',
  'points.expired', 'points.adjusted', 'tier.changed'));

-- A customer's qualifying measure now (app_now()) under the tenant's policy: points earned
-- (earn entries, less what refunds and cancels took back of them; grants and adjustments are not
-- earned) or amount spent (purchase events in the tenant's currency, less refunds), counted from
-- the start of the window, never below zero. The event and ledger indexes by customer serve it.
CREATE FUNCTION tier_measure(p_tenant uuid, p_customer uuid) RETURNS bigint
  LANGUAGE sql STABLE
  AS $$
  WITH p AS (
    SELECT p.measure, t.currency,
           CASE WHEN p.window_kind = 'rolling' THEN app_now() - p.window_days * interval '1 day'
                ELSE date_trunc('year', app_now() AT TIME ZONE t.timezone) AT TIME ZONE t.timezone
           END AS since
      FROM tier_policies p JOIN tenants t ON t.id = p.tenant_id
     WHERE p.tenant_id = p_tenant)
  SELECT least(greatest(CASE p.measure
    WHEN 'points_earned' THEN (
      SELECT coalesce(sum(l.points), 0) FROM points_ledger l
       WHERE l.tenant_id = p_tenant AND l.customer_id = p_customer
         AND l.kind IN ('earn', 'refund', 'cancel') AND l.created_at >= p.since)
    ELSE (
      SELECT coalesce(sum(CASE WHEN e.type = 'refund' THEN -e.amount_minor ELSE e.amount_minor END),
                      0)
        FROM events e
       WHERE e.tenant_id = p_tenant AND e.customer_id = p_customer
         AND e.type IN ('purchase', 'refund') AND e.occurred_at >= p.since
         AND e.currency = p.currency AND e.amount_minor IS NOT NULL)
    END, 0), 9223372036854775807)::bigint
    FROM p $$;
ALTER FUNCTION tier_measure(uuid, uuid) OWNER TO loyalty_definer;

-- Evaluates the customers' tiers now: the highest tier whose threshold their measure reaches.
-- Higher than theirs: an upgrade, at once. Lower: only with p_downgrade (the recompute), once
-- the measure has been below their tier for the policy's grace days (the first recompute that
-- finds it below starts the count; a grace of 0 downgrades at once). Each change moves
-- customers.tier_id, appends a history row and queues one `tier.changed` outbox row (customer
-- id, from, to, reason, measure: no phone). Locks each customer row (in id order) first, so
-- concurrent evaluations of a customer serialize and each change is written once. Returns the
-- changes. Nothing happens for a tenant without a policy, nor (p_measure given) for one whose
-- measure is another: the hooks of the event pipeline and the worker name the measure they
-- change.
CREATE FUNCTION tiers_evaluate(p_tenant uuid, p_customers uuid[], p_downgrade boolean,
                               p_measure text, p_event uuid)
  RETURNS TABLE (customer_id uuid, from_tier text, to_tier text, reason text, measure bigint)
  LANGUAGE plpgsql
  AS $$
#variable_conflict use_column
DECLARE
  v_grace integer;
  c record;
  v_measure bigint;
  v_cur_rank integer;
  v_cur_name text;
  v_to_id uuid;
  v_to_rank integer;
  v_to_name text;
  v_reason text;
BEGIN
  SELECT p.grace_days INTO v_grace FROM tier_policies p
   WHERE p.tenant_id = p_tenant AND (p_measure IS NULL OR p.measure = p_measure);
  IF NOT FOUND THEN
    RETURN;
  END IF;
  FOR c IN SELECT k.id, k.tier_id, k.tier_below_since FROM customers k
            WHERE k.tenant_id = p_tenant AND k.id = ANY (p_customers) AND k.status <> 'erased'
            ORDER BY k.id FOR NO KEY UPDATE LOOP
    v_measure := tier_measure(p_tenant, c.id);
    v_cur_rank := NULL;
    v_cur_name := NULL;
    SELECT t.rank, t.name INTO v_cur_rank, v_cur_name FROM tiers t
     WHERE t.tenant_id = p_tenant AND t.id = c.tier_id;
    v_to_id := NULL;
    v_to_rank := NULL;
    v_to_name := NULL;
    SELECT t.id, t.rank, t.name INTO v_to_id, v_to_rank, v_to_name FROM tiers t
     WHERE t.tenant_id = p_tenant AND t.threshold <= v_measure ORDER BY t.rank DESC LIMIT 1;
    v_reason := NULL;
    IF coalesce(v_to_rank, 0) > coalesce(v_cur_rank, 0) THEN
      v_reason := 'upgrade';
    ELSIF coalesce(v_to_rank, 0) = coalesce(v_cur_rank, 0) THEN
      IF c.tier_below_since IS NOT NULL THEN
        UPDATE customers k SET tier_below_since = NULL WHERE k.tenant_id = p_tenant AND k.id = c.id;
      END IF;
    ELSIF p_downgrade THEN
      IF v_grace = 0 OR (c.tier_below_since IS NOT NULL
                         AND c.tier_below_since + v_grace * interval '1 day' <= app_now()) THEN
        v_reason := 'downgrade';
      ELSIF c.tier_below_since IS NULL THEN
        UPDATE customers k SET tier_below_since = app_now()
         WHERE k.tenant_id = p_tenant AND k.id = c.id;
      END IF;
    END IF;
    IF v_reason IS NOT NULL THEN
      UPDATE customers k SET tier_id = v_to_id, tier_since = app_now(), tier_below_since = NULL
       WHERE k.tenant_id = p_tenant AND k.id = c.id;
      INSERT INTO customer_tier_history (tenant_id, customer_id, from_tier, to_tier, reason,
                                         measure, event_id)
      VALUES (p_tenant, c.id, v_cur_name, v_to_name, v_reason, v_measure, p_event);
      INSERT INTO outbox (tenant_id, event_type, payload)
      VALUES (p_tenant, 'tier.changed',
              jsonb_build_object('customer_id', c.id, 'from', v_cur_name, 'to', v_to_name,
                                 'reason', v_reason, 'measure', v_measure));
      customer_id := c.id;
      from_tier := v_cur_name;
      to_tier := v_to_name;
      reason := v_reason;
      measure := v_measure;
      RETURN NEXT;
    END IF;
  END LOOP;
END $$;
ALTER FUNCTION tiers_evaluate(uuid, uuid[], boolean, text, uuid) OWNER TO loyalty_definer;
