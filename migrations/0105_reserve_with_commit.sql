-- Supersedes budget_reserve_all and reward_take_stock_all of migration 0050, which failed with a
-- custom SQLSTATE (LB001) that the event pipeline caught to run its rules a second time. The
-- pipeline now reads each budget's room and each reward's stock before it creates issuances
-- (budget_available below) and sends these two with its COMMIT; they fail only when another
-- transaction took that room or stock since it was read, which is a serialization failure like
-- any other lost update: SQLSTATE 40001, and the whole transaction runs again (db/sqlstate.cpp
-- already retries 40001), reading the budget exhausted this time. Anything else a reservation
-- refuses (an unknown budget, another currency) is an ordinary error (P0001).

CREATE OR REPLACE FUNCTION budget_reserve_all(p_tenant uuid, p_budgets uuid[], p_amounts bigint[],
                                              p_currencies text[], p_issuances uuid[],
                                              p_actor text)
  RETURNS void
  LANGUAGE plpgsql
  AS $$
DECLARE
  s text;
BEGIN
  FOR k IN 1 .. coalesce(array_length(p_budgets, 1), 0) LOOP
    SELECT r.status INTO s
      FROM budget_reserve(p_tenant, p_budgets[k], p_amounts[k], p_currencies[k], p_issuances[k],
                          p_actor) r;
    IF s = 'exhausted' THEN
      RAISE EXCEPTION 'budget % was exhausted by a concurrent reservation', p_budgets[k]
        USING ERRCODE = 'serialization_failure';
    ELSIF s IS DISTINCT FROM 'reserved' THEN
      RAISE EXCEPTION 'budget % not reserved: %', p_budgets[k], s;
    END IF;
  END LOOP;
END $$;

CREATE OR REPLACE FUNCTION reward_take_stock_all(p_tenant uuid, p_rewards uuid[])
  RETURNS void
  LANGUAGE plpgsql
  AS $$
DECLARE
  r uuid;
BEGIN
  FOREACH r IN ARRAY p_rewards LOOP
    UPDATE rewards SET stock = stock - 1 WHERE tenant_id = p_tenant AND id = r AND stock > 0;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'reward % ran out of stock in a concurrent transaction', r
        USING ERRCODE = 'serialization_failure';
    END IF;
  END LOOP;
END $$;

-- What budget_reserve would let a reservation take from a budget now, without locking it: the
-- total less what the current period reserved, utilized and spent, or the whole total when the
-- period has ended (budget_lock_current's rollover would zero the counters first); NULL for a
-- budget without a hard cap (any amount fits).
CREATE FUNCTION budget_available(b budgets)
  RETURNS bigint
  LANGUAGE sql STABLE
  AS $$
  SELECT CASE
           WHEN NOT b.hard_cap THEN NULL
           WHEN b.period <> 'none'
                AND (b.period_start IS NULL
                     OR b.period_start < budget_period_start(
                          b.period, (SELECT timezone FROM tenants WHERE id = b.tenant_id),
                          app_now()))
             THEN b.total_minor
           ELSE b.total_minor - b.reserved_minor - b.utilized_minor - b.spent_minor
         END
$$;

REVOKE ALL ON FUNCTION budget_available(budgets) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION budget_available(budgets) TO loyalty_app;
ALTER FUNCTION budget_available(budgets) OWNER TO loyalty_definer;
