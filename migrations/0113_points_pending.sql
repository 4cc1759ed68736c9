-- Pending points (issue 17): a tenant setting, settings.points_pending_days (0 to 365, 0 or
-- absent: none), holds the points that events earn as pending until the event's occurred_at plus
-- that many days (the returns window, counted in UTC) before they can be spent. A pending lot has
-- pending_until set and released_at not; its remaining counts in customers.points_pending, not
-- in points_balance (the spendable balance). A refund or cancel of its issuance takes from it
-- first, so a refund inside the window never touches the spendable balance. When the window
-- is over the lot is released: a `release` movement (points 0, pending -remaining) moves what it
-- holds from points_pending to points_balance.
--
-- points_ledger.pending is the part of a movement's points that moved pending points (0 or all
-- of them, for every kind but release), so per customer
--   points_balance + points_pending = sum(points) = sum(lots.remaining)
--   points_pending = sum(pending) = sum(remaining of the pending lots)
-- and per lot remaining = sum(points) of its movements, and sum(pending) of them is its remaining
-- while it is pending and 0 once released (loyaltyctl ledger verify checks every one).

ALTER TABLE customers
  ADD COLUMN points_pending bigint NOT NULL DEFAULT 0
    CONSTRAINT customers_points_pending CHECK (points_pending >= 0);
GRANT UPDATE (points_pending) ON customers TO loyalty_app;

ALTER TABLE points_lots
  ADD COLUMN pending_until timestamptz,
  ADD COLUMN released_at timestamptz,
  ADD CONSTRAINT points_lots_released CHECK (released_at IS NULL OR pending_until IS NOT NULL);
-- The release run: the lots whose window is over.
CREATE INDEX points_lots_pending ON points_lots (tenant_id, pending_until)
  WHERE pending_until IS NOT NULL AND released_at IS NULL;
-- A customer's pending lots (their answers, the release before a debit).
CREATE INDEX points_lots_customer_pending ON points_lots (tenant_id, customer_id, pending_until)
  WHERE pending_until IS NOT NULL AND released_at IS NULL;
GRANT UPDATE (released_at) ON points_lots TO loyalty_app;

ALTER TABLE points_ledger ADD COLUMN pending bigint NOT NULL DEFAULT 0;
ALTER TABLE points_ledger
  -- Every movement moves points but a release, which moves them from pending to spendable.
  DROP CONSTRAINT points_ledger_points_check,
  ADD CONSTRAINT points_ledger_points CHECK (points <> 0 OR kind = 'release'),
  DROP CONSTRAINT points_ledger_kind,
  ADD CONSTRAINT points_ledger_kind CHECK (
    kind IN ('earn', 'spend', 'refund', 'cancel', 'expire', 'adjustment', 'grant', 'redeem',
             'release')),
  DROP CONSTRAINT points_ledger_sign,
  ADD CONSTRAINT points_ledger_sign CHECK (
    (kind IN ('earn', 'grant') AND points > 0) OR (kind IN ('spend', 'refund', 'cancel', 'expire',
                                                            'redeem') AND points < 0)
    OR kind = 'adjustment' OR (kind = 'release' AND points = 0)),
  -- A movement names one lot: it moves pending points (all of its points) or spendable ones;
  -- a release moves a lot's points from pending to spendable.
  ADD CONSTRAINT points_ledger_pending CHECK (
    (kind = 'release' AND pending < 0) OR (kind <> 'release' AND pending IN (0, points)));

-- The outbox (migration 0112): a release is not an event of its own (points.earned said how
-- many points and, in `pending`, that they were held; the release is when the window ends), and
-- the events of pending points say so in `pending` (the signed pending points they moved).
CREATE OR REPLACE FUNCTION points_ledger_outbox() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  INSERT INTO outbox (tenant_id, event_type, payload)
  SELECT m.tenant_id,
         CASE WHEN m.kind IN ('earn', 'grant') THEN 'points.earned'
              WHEN m.kind = 'spend' THEN 'points.spent'
              WHEN m.kind IN ('refund', 'cancel') THEN 'points.reversed'
              WHEN m.kind = 'expire' THEN 'points.expired'
              ELSE 'points.adjusted' END,
         jsonb_strip_nulls(jsonb_build_object(
           'customer_id', m.customer_id, 'points', sum(m.points), 'kind', m.kind,
           'reason', m.reason, 'issuance_id', m.issuance_id, 'event_id', m.event_id,
           'rule_id', m.rule_id, 'reference', m.reference,
           'pending', nullif(sum(m.pending), 0)))
    FROM moved m
   WHERE m.kind NOT IN ('redeem', 'release')
   GROUP BY m.tenant_id, m.customer_id, m.kind, m.reason, m.issuance_id, m.event_id, m.rule_id,
            m.reference
   ORDER BY m.customer_id, min(m.id);
  RETURN NULL;
END $$;
ALTER FUNCTION points_ledger_outbox() OWNER TO loyalty_definer;

-- The setting is the tenant's admins' to change (PATCH /v1/tenants/:tid/settings).
GRANT UPDATE (settings) ON tenants TO loyalty_app;
