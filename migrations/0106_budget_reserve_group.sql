-- Group commit (issue 16): the budget reservations of a whole group of events, sent with the
-- group's COMMIT, in one UPDATE per budget instead of one per issuance. The items are those of
-- budget_reserve_all (migration 0105), which this calls for a budget whose one UPDATE cannot
-- be made (its period has ended, or its room is less than the group's sum): that reserves item
-- by item as before, rolling the period over, and fails with 40001 on the first item that no
-- longer fits (a concurrent reservation took the room since the group read it), so that the
-- whole group runs again. The ledger still has one movement per issuance.

CREATE FUNCTION budget_reserve_group(p_tenant uuid, p_budgets uuid[], p_amounts bigint[],
                                     p_currencies text[], p_issuances uuid[], p_actor text)
  RETURNS void
  LANGUAGE plpgsql
  AS $$
DECLARE
  g record;
  b budgets;
  t timestamptz := app_now();
  tz text := (SELECT timezone FROM tenants WHERE id = p_tenant);
  used bigint;
  period_key text;
BEGIN
  FOR g IN
    SELECT x.budget_id, x.currency, sum(x.amount)::bigint AS amount,
           array_agg(x.amount ORDER BY x.k) AS amounts,
           array_agg(x.issuance ORDER BY x.k) AS issuances
      FROM unnest(p_budgets, p_amounts, p_currencies, p_issuances)
             WITH ORDINALITY AS x (budget_id, amount, currency, issuance, k)
     GROUP BY x.budget_id, x.currency
     ORDER BY x.budget_id, x.currency
  LOOP
    -- budget_reserve's common case for the group's sum: the budget in this currency, its
    -- period current, room under the cap. UPDATE re-checks its conditions on the row it locks.
    UPDATE budgets x
       SET reserved_minor = x.reserved_minor + g.amount, updated_at = t
     WHERE x.tenant_id = p_tenant AND x.id = g.budget_id AND x.currency = g.currency
       AND g.amount > 0
       AND (x.period = 'none' OR x.period_start >= budget_period_start(x.period, tz, t))
       AND (NOT x.hard_cap OR x.reserved_minor + x.utilized_minor + x.spent_minor + g.amount
                              <= x.total_minor)
    RETURNING * INTO b;
    IF NOT FOUND THEN
      PERFORM budget_reserve_all(p_tenant,
                                 array_fill(g.budget_id, ARRAY[cardinality(g.amounts)]),
                                 g.amounts,
                                 array_fill(g.currency, ARRAY[cardinality(g.amounts)]),
                                 g.issuances, p_actor);
      CONTINUE;
    END IF;
    INSERT INTO ledger_movements (tenant_id, budget_id, kind, debit_account, credit_account,
                                  amount_minor, currency, issuance_id, period_start, actor,
                                  created_at)
    SELECT p_tenant, g.budget_id, 'reserve', 'available', 'reserved', i.amount, b.currency,
           i.issuance, b.period_start, p_actor, t
      FROM unnest(g.amounts, g.issuances) AS i (amount, issuance)
     WHERE i.amount > 0;
    -- budget_reserve's soft-cap notice (migration 0050, restated: it is inline there), once for
    -- the group: at most one per budget and period.
    used := b.reserved_minor + b.utilized_minor + b.spent_minor;
    IF b.soft_cap_threshold IS NOT NULL AND b.total_minor > 0
       AND used >= ceil(b.total_minor * b.soft_cap_threshold)
       AND b.threshold_notified_period IS DISTINCT FROM coalesce(b.period_start, '-infinity') THEN
      period_key := coalesce(to_char(b.period_start AT TIME ZONE 'UTC',
                                     'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'none');
      INSERT INTO outbox (tenant_id, event_type, payload, dedupe_key)
      VALUES (p_tenant, 'budget.threshold',
              jsonb_build_object(
                'budget_id', b.id, 'name', b.name, 'currency', b.currency,
                'total', minor_to_decimal(b.total_minor), 'used', minor_to_decimal(used),
                'threshold', b.soft_cap_threshold::text,
                'period', b.period, 'period_start', period_key),
              b.id::text || '/' || period_key)
      ON CONFLICT (tenant_id, event_type, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING;
      UPDATE budgets x SET threshold_notified_period = coalesce(b.period_start, '-infinity')
       WHERE x.tenant_id = p_tenant AND x.id = g.budget_id;
    END IF;
  END LOOP;
END $$;

REVOKE ALL ON FUNCTION budget_reserve_group(uuid, uuid[], bigint[], text[], uuid[], text)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION budget_reserve_group(uuid, uuid[], bigint[], text[], uuid[], text)
  TO loyalty_app;
ALTER FUNCTION budget_reserve_group(uuid, uuid[], bigint[], text[], uuid[], text)
  OWNER TO loyalty_definer;
