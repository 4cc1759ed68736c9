-- Customers hear before a reward or their points expire (loyaltyctl expire --warn-days): each
-- issuance and each earned points entry is warned about once, and the time it was is kept.
ALTER TABLE issuances ADD COLUMN expiry_notice_at timestamptz;
ALTER TABLE points_ledger ADD COLUMN expiry_notice_at timestamptz;
GRANT UPDATE (expiry_notice_at) ON issuances, points_ledger TO loyalty_app;
