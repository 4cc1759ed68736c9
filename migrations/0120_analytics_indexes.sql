-- Indexes for the dashboard's analytics (lib/src/analytics/): each figure of a period is one
-- range scan of a tenant-leading index, never a scan of a tenant's whole history.

-- 1. Events of a period, the distinct customers among them (active members) and their store and
--    channel (the breakdowns): 0072's events_by_occurrence holding them too, so each is read from
--    the index alone. The store and channel are the event data's "store" and "channel", kept as
--    generated columns because an index-only scan cannot read an expression over `data` (reading
--    a quarter's events' data from the heap took a second for a million events). The same key,
--    so the event list's date filter (evq_list) reads the index as before.
ALTER TABLE events
  ADD COLUMN store text GENERATED ALWAYS AS (data->>'store') STORED,
  ADD COLUMN channel text GENERATED ALWAYS AS (data->>'channel') STORED;
DROP INDEX events_by_occurrence;
CREATE INDEX events_by_occurrence ON events (tenant_id, occurred_at)
  INCLUDE (customer_id, store, channel);

-- 2. Enrolments of a period.
CREATE INDEX customers_by_enrolment ON customers (tenant_id, enrolled_at);

-- 3. Redemptions of a period. Only redeemed issuances, and on a column that issuing
--    (reserved -> issued) does not change, so that update stays heap-only (migration 0040).
CREATE INDEX issuances_by_redemption ON issuances (tenant_id, redeemed_at)
  WHERE redeemed_at IS NOT NULL;

-- 4. Points earned and spent in a period, and the points movements after an instant (what was
--    outstanding then), from the index alone.
CREATE INDEX points_by_time ON points_ledger (tenant_id, created_at) INCLUDE (kind, points);
