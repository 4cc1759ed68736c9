-- Points lots (issue 17): every credit of points is a lot with its own expiry; every debit
-- (a spend, a refund, a cancel, a negative adjustment) takes from the lots that expire first,
-- and the expiry run takes only what is left of a lot. Every movement of points_ledger names the
-- one lot it changes, with a reason, the rule and event behind it and who made it, so
--   customers.points_balance = sum(points_ledger.points) = sum(points_lots.remaining)
-- per customer, and each lot's remaining = its amount + the debits that name it (loyaltyctl
-- ledger verify checks all three). points_ledger becomes append-only: what used to be marked on
-- an earn entry (expired, expiry_notice_at) is now the lot's.

CREATE TABLE points_lots (
  id bigserial PRIMARY KEY,
  tenant_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  remaining bigint NOT NULL,
  expires_at timestamptz,
  expired_at timestamptz,
  expiry_notice_at timestamptz,
  issuance_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  CONSTRAINT points_lots_remaining CHECK (remaining BETWEEN 0 AND amount),
  CONSTRAINT points_lots_expired_empty CHECK (expired_at IS NULL OR remaining = 0),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers(tenant_id, id),
  FOREIGN KEY (tenant_id, issuance_id) REFERENCES issuances(tenant_id, id)
);
-- A customer's lots with points left, in the order debits take them.
CREATE INDEX points_lots_live ON points_lots (tenant_id, customer_id, expires_at, id)
  WHERE remaining > 0;
-- The expiry run and its warnings.
CREATE INDEX points_lots_expiry ON points_lots (tenant_id, expires_at)
  WHERE remaining > 0 AND expired_at IS NULL;
ALTER TABLE points_lots ENABLE ROW LEVEL SECURITY;
ALTER TABLE points_lots FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON points_lots USING (tenant_id = app_tenant_id())
  WITH CHECK (tenant_id = app_tenant_id());
CREATE POLICY operator_access ON points_lots TO CURRENT_USER USING (true) WITH CHECK (true);

ALTER TABLE points_ledger
  ADD COLUMN lot_id bigint,
  ADD COLUMN reason text,
  ADD COLUMN rule_id uuid,
  ADD COLUMN actor text,
  ADD COLUMN reference text CHECK (length(reference) BETWEEN 1 AND 200);

-- The lots of what was earned before: one per earn entry, holding what the entry's debits (the
-- refunds and cancels of its issuance, its expiry) left.
-- A legacy lot takes its earn entry's id.
INSERT INTO points_lots (id, tenant_id, customer_id, amount, remaining, expires_at, expired_at,
                         expiry_notice_at, issuance_id, created_at)
SELECT id, tenant_id, customer_id, points, points, expires_at,
       CASE WHEN expired THEN coalesce(expires_at, created_at) END, expiry_notice_at,
       issuance_id, created_at
  FROM points_ledger WHERE points > 0;
SELECT setval('points_lots_id_seq', greatest((SELECT max(id) FROM points_lots), 1));
UPDATE points_ledger SET lot_id = id WHERE points > 0;
UPDATE points_ledger d SET lot_id = e.lot_id
  FROM points_ledger e
 WHERE d.points < 0 AND e.tenant_id = d.tenant_id AND e.points > 0
   AND (e.id = d.reverses_id
        OR (d.reverses_id IS NULL AND e.issuance_id = d.issuance_id));
UPDATE points_lots l SET remaining = l.amount + s.debits
  FROM (SELECT lot_id, sum(points) AS debits FROM points_ledger WHERE points < 0 GROUP BY lot_id) s
 WHERE s.lot_id = l.id;
UPDATE points_lots SET expired_at = NULL WHERE remaining > 0;
UPDATE points_ledger p SET rule_id = i.rule_id
  FROM issuances i WHERE i.tenant_id = p.tenant_id AND i.id = p.issuance_id;
UPDATE points_ledger SET reason = CASE kind WHEN 'earn' THEN 'earned'
                                            WHEN 'expire' THEN 'expired'
                                            ELSE kind END,
                         actor = 'system';

ALTER TABLE points_ledger
  ALTER COLUMN lot_id SET NOT NULL,
  ALTER COLUMN reason SET NOT NULL,
  ALTER COLUMN actor SET NOT NULL,
  ADD CONSTRAINT points_ledger_reason CHECK (length(reason) BETWEEN 1 AND 500),
  ADD FOREIGN KEY (tenant_id, lot_id) REFERENCES points_lots(tenant_id, id),
  ADD FOREIGN KEY (tenant_id, rule_id) REFERENCES rules(tenant_id, id),
  -- A credit opens its lot; a debit takes from one.
  DROP CONSTRAINT points_ledger_kind_check,
  ADD CONSTRAINT points_ledger_kind CHECK (
    kind IN ('earn', 'spend', 'refund', 'cancel', 'expire', 'adjustment', 'grant', 'redeem')),
  ADD CONSTRAINT points_ledger_sign CHECK (
    (kind IN ('earn', 'grant') AND points > 0) OR (kind IN ('spend', 'refund', 'cancel', 'expire',
                                                            'redeem') AND points < 0)
    OR kind = 'adjustment');
-- A bulk grant's line is applied once: loyaltyctl points grant is idempotent by its reference.
CREATE UNIQUE INDEX points_ledger_reference ON points_ledger (tenant_id, reference)
  WHERE reference IS NOT NULL;

-- The expiry run reads points_lots_expiry now; points_ledger's expires_at, expired and
-- expiry_notice_at stay as history of the entries written before this migration.
DROP INDEX points_expiry;

REVOKE UPDATE ON points_ledger FROM loyalty_app;
CREATE TRIGGER points_ledger_append_only BEFORE UPDATE OR DELETE ON points_ledger
  FOR EACH ROW EXECUTE FUNCTION refuse_change();

GRANT SELECT, INSERT ON points_lots TO loyalty_app;
GRANT UPDATE (remaining, expired_at, expiry_notice_at) ON points_lots TO loyalty_app;
GRANT USAGE ON SEQUENCE points_lots_id_seq TO loyalty_app;
