-- Customers serve themselves over WhatsApp and USSD (lib/selfservice): each has a language of
-- their own (else the tenant's settings.language, else English); a reward that needs a PIN can
-- be given a fresh one-time PIN, valid a few minutes; USSD sessions keep their menu state.

ALTER TABLE customers
  ADD COLUMN language text CHECK (language IN ('en', 'sn', 'nd'));
GRANT UPDATE (language, consent_channel) ON customers TO loyalty_app;

-- NULL: the PIN sent at issue, valid as long as the reward; else the end of a fresh PIN's life.
ALTER TABLE issuances ADD COLUMN pin_expires_at timestamptz;
GRANT UPDATE (pin_expires_at) ON issuances TO loyalty_app;

GRANT UPDATE (customer_id, state, updated_at, expires_at) ON channel_sessions TO loyalty_app;
CREATE INDEX channel_sessions_expiry ON channel_sessions (expires_at);
