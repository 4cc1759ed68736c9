-- Budgets and their double-entry ledger: the clock, tenant-local periods, and the operations
-- that move money between a budget's accounts. Every operation locks the budget row, rolls it
-- into the current period if one has ended, changes the counters with a conditional UPDATE (the
-- budgets_hard_cap CHECK is the last line of defence) and appends one balanced movement.
--
-- Accounts of a budget and what their balances mean (balance = sum in - sum out):
--   funding    minus everything ever put in (top-ups, and each period's renewed allowance)
--   available  total - reserved - utilized - spent
--   reserved   reserved_minor: promised to issuances not yet issued
--   utilized   utilized_minor: issued, not yet redeemed
--   spent      spent_minor: redeemed
--   closed     what past periods consumed (periodic budgets)
-- so -funding - closed = total_minor for every budget.

-- The transaction's clock: now(), unless app.now is set (transaction-local, tests only) to act
-- at another instant. Budget periods, campaign dates and rule windows read it.
CREATE FUNCTION app_now() RETURNS timestamptz
  LANGUAGE sql STABLE
  AS $$ SELECT coalesce(nullif(current_setting('app.now', true), '')::timestamptz, now()) $$;

-- Start of the period of kind p_period ('daily', 'weekly' from Monday, 'monthly') containing
-- p_at, on the local calendar of time zone p_tz; NULL for 'none'.
CREATE FUNCTION budget_period_start(p_period text, p_tz text, p_at timestamptz)
  RETURNS timestamptz
  LANGUAGE sql STABLE
  AS $$ SELECT CASE p_period
          WHEN 'daily' THEN date_trunc('day', p_at AT TIME ZONE p_tz) AT TIME ZONE p_tz
          WHEN 'weekly' THEN date_trunc('week', p_at AT TIME ZONE p_tz) AT TIME ZONE p_tz
          WHEN 'monthly' THEN date_trunc('month', p_at AT TIME ZONE p_tz) AT TIME ZONE p_tz
        END $$;

-- Minor units as the API's decimal string: 1250 -> '12.50'.
CREATE FUNCTION minor_to_decimal(p_minor bigint) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT ((p_minor::numeric) / 100)::numeric(20, 2)::text $$;

-- Locks a budget and, when its period has ended, closes the old period: what it reserved,
-- utilized and spent moves to 'closed' and the same amount is renewed from 'funding' into
-- 'available' (kind 'rollover'), so the new period starts with zero counters and the whole
-- total available. Returns the locked row, or NULL when the budget does not exist.
CREATE FUNCTION budget_lock_current(p_tenant uuid, p_budget uuid, p_actor text)
  RETURNS budgets
  LANGUAGE plpgsql
  AS $$
DECLARE
  b budgets;
  tz text;
  t timestamptz := app_now();
  current_start timestamptz;
  consumed bigint;
BEGIN
  SELECT * INTO b FROM budgets WHERE tenant_id = p_tenant AND id = p_budget FOR NO KEY UPDATE;  -- not FOR UPDATE: inserts referencing the budget hold KEY SHARE
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF b.period = 'none' THEN
    RETURN b;
  END IF;
  SELECT timezone INTO tz FROM tenants WHERE id = p_tenant;
  current_start := budget_period_start(b.period, tz, t);
  IF b.period_start IS NOT NULL AND b.period_start >= current_start THEN
    RETURN b;
  END IF;
  consumed := b.reserved_minor + b.utilized_minor + b.spent_minor;
  IF b.reserved_minor > 0 THEN
    INSERT INTO ledger_movements (tenant_id, budget_id, kind, debit_account, credit_account,
                                  amount_minor, currency, period_start, actor, created_at)
    VALUES (p_tenant, p_budget, 'rollover', 'reserved', 'closed', b.reserved_minor, b.currency,
            b.period_start, p_actor, t);
  END IF;
  IF b.utilized_minor > 0 THEN
    INSERT INTO ledger_movements (tenant_id, budget_id, kind, debit_account, credit_account,
                                  amount_minor, currency, period_start, actor, created_at)
    VALUES (p_tenant, p_budget, 'rollover', 'utilized', 'closed', b.utilized_minor, b.currency,
            b.period_start, p_actor, t);
  END IF;
  IF b.spent_minor > 0 THEN
    INSERT INTO ledger_movements (tenant_id, budget_id, kind, debit_account, credit_account,
                                  amount_minor, currency, period_start, actor, created_at)
    VALUES (p_tenant, p_budget, 'rollover', 'spent', 'closed', b.spent_minor, b.currency,
            b.period_start, p_actor, t);
  END IF;
  IF consumed > 0 THEN
    INSERT INTO ledger_movements (tenant_id, budget_id, kind, debit_account, credit_account,
                                  amount_minor, currency, period_start, actor, created_at)
    VALUES (p_tenant, p_budget, 'rollover', 'funding', 'available', consumed, b.currency,
            current_start, p_actor, t);
  END IF;
  UPDATE budgets
     SET reserved_minor = 0, utilized_minor = 0, spent_minor = 0, period_start = current_start,
         updated_at = t
   WHERE tenant_id = p_tenant AND id = p_budget
  RETURNING * INTO b;
  RETURN b;
END $$;

-- Tops a budget up by p_amount, idempotent by reference: the same reference with the same
-- amount answers the original movement ('replayed'); with another amount, 'reference_conflict'
-- and the original amount. The budget row lock serializes concurrent top-ups.
CREATE FUNCTION budget_topup(p_tenant uuid, p_budget uuid, p_amount bigint, p_reference text,
                             p_actor text)
  RETURNS TABLE (status text, movement_id bigint, amount_minor bigint)
  LANGUAGE plpgsql
  AS $$
DECLARE
  b budgets;
  t timestamptz := app_now();
  existing budget_topups;
  m bigint;
BEGIN
  b := budget_lock_current(p_tenant, p_budget, p_actor);
  IF b.id IS NULL THEN
    RETURN QUERY SELECT 'not_found'::text, NULL::bigint, NULL::bigint;
    RETURN;
  END IF;
  SELECT * INTO existing FROM budget_topups x
   WHERE x.tenant_id = p_tenant AND x.budget_id = p_budget AND x.reference = p_reference;
  IF FOUND THEN
    RETURN QUERY SELECT CASE WHEN existing.amount_minor = p_amount THEN 'replayed'
                             ELSE 'reference_conflict' END,
                        existing.movement_id, existing.amount_minor;
    RETURN;
  END IF;
  INSERT INTO ledger_movements (tenant_id, budget_id, kind, debit_account, credit_account,
                                amount_minor, currency, reference, period_start, actor, created_at)
  VALUES (p_tenant, p_budget, 'topup', 'funding', 'available', p_amount, b.currency, p_reference,
          b.period_start, p_actor, t)
  RETURNING id INTO m;
  INSERT INTO budget_topups (tenant_id, budget_id, reference, amount_minor, movement_id, created_at)
  VALUES (p_tenant, p_budget, p_reference, p_amount, m, t);
  UPDATE budgets SET total_minor = total_minor + p_amount, updated_at = t
   WHERE tenant_id = p_tenant AND id = p_budget;
  RETURN QUERY SELECT 'applied'::text, m, p_amount;
END $$;

-- Reserves p_amount (available -> reserved). A hard-capped budget refuses ('exhausted') any
-- reservation that would take reserved + utilized + spent past total, by a conditional UPDATE.
-- Crossing the soft-cap threshold queues one 'budget.threshold' outbox row per period.
CREATE FUNCTION budget_reserve(p_tenant uuid, p_budget uuid, p_amount bigint, p_currency text,
                               p_issuance uuid, p_actor text)
  RETURNS TABLE (status text, movement_id bigint, period_start timestamptz,
                 threshold_queued boolean)
  LANGUAGE plpgsql
  AS $$
DECLARE
  b budgets;
  t timestamptz := app_now();
  m bigint;
  used bigint;
  queued boolean := false;
  period_key text;
  n integer;
BEGIN
  b := budget_lock_current(p_tenant, p_budget, p_actor);
  IF b.id IS NULL THEN
    RETURN QUERY SELECT 'not_found'::text, NULL::bigint, NULL::timestamptz, false;
    RETURN;
  END IF;
  IF b.currency <> p_currency THEN
    RETURN QUERY SELECT 'currency_mismatch'::text, NULL::bigint, b.period_start, false;
    RETURN;
  END IF;
  IF p_amount = 0 THEN
    RETURN QUERY SELECT 'reserved'::text, NULL::bigint, b.period_start, false;
    RETURN;
  END IF;
  UPDATE budgets x
     SET reserved_minor = x.reserved_minor + p_amount, updated_at = t
   WHERE x.tenant_id = p_tenant AND x.id = p_budget
     AND (NOT x.hard_cap OR x.reserved_minor + x.utilized_minor + x.spent_minor + p_amount
                            <= x.total_minor)
  RETURNING * INTO b;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'exhausted'::text, NULL::bigint, NULL::timestamptz, false;
    RETURN;
  END IF;
  INSERT INTO ledger_movements (tenant_id, budget_id, kind, debit_account, credit_account,
                                amount_minor, currency, issuance_id, period_start, actor,
                                created_at)
  VALUES (p_tenant, p_budget, 'reserve', 'available', 'reserved', p_amount, b.currency,
          p_issuance, b.period_start, p_actor, t)
  RETURNING id INTO m;

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
    GET DIAGNOSTICS n = ROW_COUNT;
    queued := n > 0;
    UPDATE budgets x SET threshold_notified_period = coalesce(b.period_start, '-infinity')
     WHERE x.tenant_id = p_tenant AND x.id = p_budget;
  END IF;
  RETURN QUERY SELECT 'reserved'::text, m, b.period_start, queued;
END $$;

-- Moves p_amount of an issuance between counters: charge (reserved -> utilized), spend
-- (utilized -> spent), release (reserved or utilized -> available). 'insufficient' when the
-- source counter holds less. An issuance reserved in a period that has since closed was
-- settled by the rollover: nothing moves ('closed_period').
CREATE FUNCTION budget_settle(p_tenant uuid, p_budget uuid, p_kind text, p_from text, p_to text,
                              p_amount bigint, p_issuance uuid, p_actor text)
  RETURNS TABLE (status text, movement_id bigint)
  LANGUAGE plpgsql
  AS $$
DECLARE
  b budgets;
  t timestamptz := app_now();
  m bigint;
  reserved_in timestamptz;
  found_reserve boolean := false;
BEGIN
  b := budget_lock_current(p_tenant, p_budget, p_actor);
  IF b.id IS NULL THEN
    RETURN QUERY SELECT 'not_found'::text, NULL::bigint;
    RETURN;
  END IF;
  IF p_amount = 0 THEN
    RETURN QUERY SELECT 'settled'::text, NULL::bigint;
    RETURN;
  END IF;
  IF p_issuance IS NOT NULL AND b.period <> 'none' THEN
    SELECT l.period_start, true INTO reserved_in, found_reserve FROM ledger_movements l
     WHERE l.tenant_id = p_tenant AND l.issuance_id = p_issuance AND l.budget_id = p_budget
       AND l.kind = 'reserve'
     ORDER BY l.id LIMIT 1;
    IF found_reserve AND reserved_in IS DISTINCT FROM b.period_start THEN
      RETURN QUERY SELECT 'closed_period'::text, NULL::bigint;
      RETURN;
    END IF;
  END IF;
  UPDATE budgets x
     SET reserved_minor = x.reserved_minor
                          - CASE WHEN p_from = 'reserved' THEN p_amount ELSE 0 END
                          + CASE WHEN p_to = 'reserved' THEN p_amount ELSE 0 END,
         utilized_minor = x.utilized_minor
                          - CASE WHEN p_from = 'utilized' THEN p_amount ELSE 0 END
                          + CASE WHEN p_to = 'utilized' THEN p_amount ELSE 0 END,
         spent_minor = x.spent_minor
                       - CASE WHEN p_from = 'spent' THEN p_amount ELSE 0 END
                       + CASE WHEN p_to = 'spent' THEN p_amount ELSE 0 END,
         updated_at = t
   WHERE x.tenant_id = p_tenant AND x.id = p_budget
     AND CASE p_from WHEN 'reserved' THEN x.reserved_minor
                     WHEN 'utilized' THEN x.utilized_minor
                     WHEN 'spent' THEN x.spent_minor END >= p_amount;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'insufficient'::text, NULL::bigint;
    RETURN;
  END IF;
  INSERT INTO ledger_movements (tenant_id, budget_id, kind, debit_account, credit_account,
                                amount_minor, currency, issuance_id, period_start, actor,
                                created_at)
  VALUES (p_tenant, p_budget, p_kind, p_from, p_to, p_amount, b.currency, p_issuance,
          b.period_start, p_actor, t)
  RETURNING id INTO m;
  RETURN QUERY SELECT 'settled'::text, m;
END $$;

REVOKE ALL ON FUNCTION budget_lock_current(uuid, uuid, text),
  budget_topup(uuid, uuid, bigint, text, text),
  budget_reserve(uuid, uuid, bigint, text, uuid, text),
  budget_settle(uuid, uuid, text, text, text, bigint, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_now(), budget_period_start(text, text, timestamptz),
  minor_to_decimal(bigint), budget_lock_current(uuid, uuid, text),
  budget_topup(uuid, uuid, bigint, text, text),
  budget_reserve(uuid, uuid, bigint, text, uuid, text),
  budget_settle(uuid, uuid, text, text, text, bigint, uuid, text) TO loyalty_app;

-- Ledger lists filter by kind, and export by date range, per tenant.
CREATE INDEX ledger_by_kind ON ledger_movements (tenant_id, kind, id);
