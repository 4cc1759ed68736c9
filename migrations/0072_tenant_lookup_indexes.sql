-- Indexes for lookups that read a whole table (or all of a tenant's rows) once a shop has a
-- history: found by tests/pg/plans_test.cpp, which runs the event path, the worker, the till and
-- the lists over 20,000 rows per hot table and fails on a sequential scan of a big table.

-- 1. A code from a reward's pool, taken in code order (ev_insert_issuance). The pool index
--    (tenant_id, reward_id, status) holds the used codes too, and for LIMIT 1 the planner preferred
--    a sequential scan, which reads every used code before the first available one (new codes
--    are appended at the end of the table).
CREATE INDEX reward_codes_available ON reward_codes (tenant_id, reward_id, code)
  WHERE status = 'available';

-- 2. A redeemed issuance's pool code (iss_code_redeemed), at the till.
CREATE INDEX reward_codes_by_issuance ON reward_codes (tenant_id, issuance_id)
  WHERE issuance_id IS NOT NULL;

-- 3. The points an issuance earned, which a refund takes back (ev_partial_points).
CREATE INDEX points_by_issuance ON points_ledger (tenant_id, issuance_id)
  WHERE issuance_id IS NOT NULL;

-- 4. A tenant's ledger newest first (ledger_list): no index had (tenant_id, id), so the list
--    walked the primary key backwards through every tenant's newer movements. It holds the
--    columns the list filters on, so a page's ids come from the index alone.
CREATE INDEX ledger_list ON ledger_movements (tenant_id, id) INCLUDE (budget_id, kind, created_at);

-- 5. A tenant's events of some days (evq_list with from/to, on occurred_at).
CREATE INDEX events_by_occurrence ON events (tenant_id, occurred_at);
