-- Points movements as webhook events (issue 17): every statement that writes points_ledger
-- queues, in the same transaction, one outbox row per customer and movement it made — whichever
-- module wrote it (the worker's earning, claims, adjustments, grants, refunds, cancellations,
-- the expiry run) — so no writer can forget one. A debit taken from several lots is one event,
-- its points summed. The types:
--   points.earned    kind earn or grant (points > 0)
--   points.spent     kind spend (a claim)
--   points.reversed  kind refund or cancel (the earning event refunded, the reward cancelled)
--   points.expired   kind expire
--   points.adjusted  kind adjustment (either sign)
-- The payload: customer_id, points (signed), kind, reason, and the issuance, event, rule and
-- bulk-grant reference behind it when there is one.

ALTER TABLE outbox DROP CONSTRAINT outbox_event_type_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_event_type_check CHECK (event_type IN (
  'customer.enrolled', 'reward.issued', 'reward.redeemed', 'reward.expired', 'reward.cancelled',
  'budget.threshold', 'webhook.test', 'points.earned', 'points.spent', 'points.reversed',
  'points.expired', 'points.adjusted'));

CREATE FUNCTION points_ledger_outbox() RETURNS trigger
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
           'rule_id', m.rule_id, 'reference', m.reference))
    FROM moved m
   WHERE m.kind <> 'redeem'
   GROUP BY m.tenant_id, m.customer_id, m.kind, m.reason, m.issuance_id, m.event_id, m.rule_id,
            m.reference
   ORDER BY m.customer_id, min(m.id);
  RETURN NULL;
END $$;
ALTER FUNCTION points_ledger_outbox() OWNER TO loyalty_definer;

CREATE TRIGGER points_ledger_outbox AFTER INSERT ON points_ledger
  REFERENCING NEW TABLE AS moved FOR EACH STATEMENT EXECUTE FUNCTION points_ledger_outbox();
