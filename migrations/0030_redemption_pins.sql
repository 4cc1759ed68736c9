-- One-time PINs for rewards that require one (rewards.requires_pin).
-- The worker sets issuances.pin_hash when it issues such a reward and sends the PIN to the
-- customer only; redemption then succeeds only with the PIN (checked in the redeeming UPDATE's
-- WHERE). Wrong PINs are counted; after five the issuance can no longer be redeemed by PIN.
ALTER TABLE issuances
  ADD COLUMN pin_attempts integer NOT NULL DEFAULT 0 CHECK (pin_attempts BETWEEN 0 AND 5);
