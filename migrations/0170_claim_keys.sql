-- Claims with points are idempotent by key (POST .../customers/:id/claims with an Idempotency-Key
-- header or "idempotency_key" in the body): a till that retries a claim after a timeout gets the
-- first claim's answer instead of spending the points twice.
--
-- One row per keyed claim, written in the claim's transaction; the key is per tenant (two tenants
-- may use the same one) and kept for good, like an event's. The row keeps what the answer needs
-- beyond the issuance itself (the points spent and the balance after them); the issuance's code
-- stays in the issuance only. Append-only.
CREATE TABLE claim_keys (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  customer_id uuid NOT NULL,
  reward_id uuid NOT NULL,
  issuance_id uuid NOT NULL,
  points_spent bigint NOT NULL CHECK (points_spent > 0),
  balance_after bigint NOT NULL CHECK (balance_after >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, idempotency_key),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers(tenant_id, id),
  FOREIGN KEY (tenant_id, issuance_id) REFERENCES issuances(tenant_id, id)
);
CREATE TRIGGER claim_keys_append_only BEFORE UPDATE OR DELETE ON claim_keys
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
ALTER TABLE claim_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE claim_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON claim_keys USING (tenant_id = app_tenant_id())
  WITH CHECK (tenant_id = app_tenant_id());
CREATE POLICY operator_access ON claim_keys TO CURRENT_USER USING (true) WITH CHECK (true);
GRANT SELECT, INSERT ON claim_keys TO loyalty_app;
