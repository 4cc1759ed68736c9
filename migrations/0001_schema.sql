-- The whole schema of the loyalty platform. Forward-only: later changes are new files.
-- Money is BIGINT minor units (cents). Timestamps are timestamptz. Every tenant-owned table
-- has tenant_id, row-level security ENABLED and FORCED, and a policy that fails closed.

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'loyalty_app') THEN
    CREATE ROLE loyalty_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END $$;

-- The tenant of the current transaction, set with set_config('app.tenant_id', id, true).
-- Unset, NULL or empty means no tenant: policies compare with NULL and match no row.
CREATE FUNCTION app_tenant_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE FUNCTION is_valid_timezone(tz text) RETURNS boolean
  LANGUAGE sql STABLE
  AS $$ SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = tz) $$;

CREATE TABLE tenants (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  timezone text NOT NULL DEFAULT 'Africa/Harare',
  currency text NOT NULL DEFAULT 'USD' CHECK (currency IN ('USD', 'ZWG')),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  settings jsonb NOT NULL DEFAULT '{"auto_enrol": true}'::jsonb,
  rules_version bigint NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  email text NOT NULL CHECK (email = lower(email) AND email LIKE '%_@_%'),
  password_hash text NOT NULL,
  role text NOT NULL CHECK (role IN ('admin', 'manager', 'viewer')),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_login_at timestamptz,
  UNIQUE (tenant_id, id)
);
-- Login is by email alone, so an email belongs to one user across the platform.
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE refresh_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  user_id uuid NOT NULL,
  family_id uuid NOT NULL,
  token_hash text NOT NULL UNIQUE,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  replaced_by uuid REFERENCES refresh_tokens(id),
  created_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (tenant_id, family_id);

CREATE TABLE api_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  prefix text NOT NULL UNIQUE,
  key_hash text NOT NULL,
  scopes text[] NOT NULL DEFAULT ARRAY['pos']::text[],
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);

CREATE TABLE customers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  phone text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
  external_ref text CHECK (length(external_ref) BETWEEN 1 AND 200),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'opted_out', 'erased')),
  consent_at timestamptz,
  consent_channel text CHECK (consent_channel IN ('pos', 'whatsapp', 'ussd', 'web', 'api')),
  attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
  tags text[] NOT NULL DEFAULT '{}',
  segments text[] NOT NULL DEFAULT '{}',
  birthday date,
  points_balance bigint NOT NULL DEFAULT 0 CHECK (points_balance >= 0),
  enrolled_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  CHECK (phone IS NOT NULL OR external_ref IS NOT NULL OR status = 'erased')
);
CREATE UNIQUE INDEX customers_phone_key ON customers (tenant_id, phone) WHERE phone IS NOT NULL;
CREATE UNIQUE INDEX customers_external_ref_key ON customers (tenant_id, external_ref)
  WHERE external_ref IS NOT NULL;
CREATE INDEX customers_list ON customers (tenant_id, created_at, id);

CREATE TABLE budgets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  currency text NOT NULL CHECK (currency IN ('USD', 'ZWG')),
  total_minor bigint NOT NULL DEFAULT 0 CHECK (total_minor >= 0),
  reserved_minor bigint NOT NULL DEFAULT 0 CHECK (reserved_minor >= 0),
  utilized_minor bigint NOT NULL DEFAULT 0 CHECK (utilized_minor >= 0),
  spent_minor bigint NOT NULL DEFAULT 0 CHECK (spent_minor >= 0),
  hard_cap boolean NOT NULL DEFAULT true,
  soft_cap_threshold numeric(5,4) CHECK (soft_cap_threshold > 0 AND soft_cap_threshold <= 1),
  period text NOT NULL DEFAULT 'none' CHECK (period IN ('none', 'daily', 'weekly', 'monthly')),
  period_start timestamptz,
  threshold_notified_period timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, name),
  -- The hard cap, enforced by the database: no reservation can take a budget past its total.
  CONSTRAINT budgets_hard_cap CHECK (NOT hard_cap OR reserved_minor + utilized_minor + spent_minor <= total_minor)
);

CREATE TABLE campaigns (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description text NOT NULL DEFAULT '',
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'paused', 'ended')),
  starts_at timestamptz,
  ends_at timestamptz,
  budget_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, name),
  CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at),
  FOREIGN KEY (tenant_id, budget_id) REFERENCES budgets(tenant_id, id)
);

CREATE TABLE rewards (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description text NOT NULL DEFAULT '',
  type text NOT NULL CHECK (type IN ('discount', 'voucher', 'points', 'physical')),
  config jsonb NOT NULL DEFAULT '{}'::jsonb,
  cost_minor bigint NOT NULL DEFAULT 0 CHECK (cost_minor >= 0),
  currency text NOT NULL CHECK (currency IN ('USD', 'ZWG')),
  points bigint CHECK (points > 0),
  stock bigint CHECK (stock >= 0),
  requires_pin boolean NOT NULL DEFAULT false,
  valid_from timestamptz,
  valid_until timestamptz,
  validity_days integer CHECK (validity_days > 0),
  budget_id uuid,
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, name),
  CHECK (type <> 'points' OR points IS NOT NULL),
  CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_until > valid_from),
  FOREIGN KEY (tenant_id, budget_id) REFERENCES budgets(tenant_id, id)
);

CREATE TABLE rules (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description text NOT NULL DEFAULT '',
  event_type text NOT NULL CHECK (event_type ~ '^[a-z][a-z0-9_.]{0,63}$'),
  conditions jsonb NOT NULL,
  reward_id uuid NOT NULL,
  budget_id uuid,
  campaign_id uuid,
  per_customer_max integer CHECK (per_customer_max > 0),
  per_customer_period text CHECK (per_customer_period IN ('day', 'week', 'month', 'lifetime')),
  global_max integer CHECK (global_max > 0),
  global_period text CHECK (global_period IN ('day', 'week', 'month', 'lifetime')),
  cooldown_seconds integer CHECK (cooldown_seconds >= 0),
  priority integer NOT NULL DEFAULT 100,
  active boolean NOT NULL DEFAULT true,
  valid_from timestamptz,
  valid_until timestamptz,
  stop_processing boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, name),
  CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_until > valid_from),
  CHECK ((per_customer_max IS NULL) = (per_customer_period IS NULL)),
  CHECK ((global_max IS NULL) = (global_period IS NULL)),
  FOREIGN KEY (tenant_id, reward_id) REFERENCES rewards(tenant_id, id),
  FOREIGN KEY (tenant_id, budget_id) REFERENCES budgets(tenant_id, id),
  FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns(tenant_id, id)
);
CREATE INDEX rules_active ON rules (tenant_id, event_type, priority) WHERE active;

CREATE TABLE events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  customer_id uuid,
  type text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_.]{0,63}$'),
  occurred_at timestamptz NOT NULL,
  data jsonb NOT NULL DEFAULT '{}'::jsonb,
  amount_minor bigint CHECK (amount_minor >= 0),
  currency text CHECK (currency IN ('USD', 'ZWG')),
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  request_hash text NOT NULL,
  status text NOT NULL DEFAULT 'processed' CHECK (status IN ('processing', 'processed', 'rejected')),
  response_status integer,
  response jsonb,
  original_event_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, idempotency_key),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers(tenant_id, id),
  FOREIGN KEY (tenant_id, original_event_id) REFERENCES events(tenant_id, id)
);
CREATE INDEX events_customer_history ON events (tenant_id, customer_id, type, occurred_at);
CREATE INDEX events_list ON events (tenant_id, created_at, id);

CREATE TABLE issuances (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  customer_id uuid NOT NULL,
  event_id uuid,
  rule_id uuid,
  reward_id uuid NOT NULL,
  budget_id uuid,
  campaign_id uuid,
  state text NOT NULL DEFAULT 'reserved'
    CHECK (state IN ('reserved', 'issued', 'redeemed', 'cancelled', 'expired')),
  cost_minor bigint NOT NULL DEFAULT 0 CHECK (cost_minor >= 0),
  currency text NOT NULL CHECK (currency IN ('USD', 'ZWG')),
  code text,
  pin_hash text,
  points bigint CHECK (points > 0),
  expires_at timestamptz,
  issued_at timestamptz,
  redeemed_at timestamptz,
  cancelled_at timestamptz,
  expired_at timestamptz,
  cancel_reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers(tenant_id, id),
  FOREIGN KEY (tenant_id, event_id) REFERENCES events(tenant_id, id),
  FOREIGN KEY (tenant_id, rule_id) REFERENCES rules(tenant_id, id),
  FOREIGN KEY (tenant_id, reward_id) REFERENCES rewards(tenant_id, id),
  FOREIGN KEY (tenant_id, budget_id) REFERENCES budgets(tenant_id, id),
  FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns(tenant_id, id),
  CHECK (state <> 'redeemed' OR redeemed_at IS NOT NULL),
  CHECK (state <> 'cancelled' OR cancelled_at IS NOT NULL),
  CHECK (state <> 'expired' OR expired_at IS NOT NULL)
);
CREATE UNIQUE INDEX issuances_code_key ON issuances (tenant_id, code) WHERE code IS NOT NULL;
CREATE INDEX issuances_caps ON issuances (tenant_id, rule_id, customer_id, created_at);
CREATE INDEX issuances_customer ON issuances (tenant_id, customer_id, created_at);
CREATE INDEX issuances_event ON issuances (tenant_id, event_id);
CREATE INDEX issuances_expiry ON issuances (tenant_id, expires_at) WHERE state IN ('reserved', 'issued');
CREATE INDEX issuances_list ON issuances (tenant_id, created_at, id);

CREATE TABLE reward_codes (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  reward_id uuid NOT NULL,
  code text NOT NULL CHECK (length(code) BETWEEN 4 AND 64 AND code ~ '^[A-Za-z0-9_-]+$'),
  status text NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'assigned', 'redeemed')),
  issuance_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  assigned_at timestamptz,
  PRIMARY KEY (tenant_id, code),
  FOREIGN KEY (tenant_id, reward_id) REFERENCES rewards(tenant_id, id),
  FOREIGN KEY (tenant_id, issuance_id) REFERENCES issuances(tenant_id, id),
  CHECK ((status = 'available') = (issuance_id IS NULL))
);
CREATE INDEX reward_codes_pool ON reward_codes (tenant_id, reward_id, status);

-- Budget ledger: every movement is one balanced journal entry moving `amount_minor` from the
-- debit account to the credit account of one budget. Append-only.
CREATE TABLE ledger_movements (
  id bigserial PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  budget_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('topup', 'reserve', 'release', 'charge', 'spend',
                                      'rollover', 'adjustment')),
  debit_account text NOT NULL CHECK (debit_account IN ('funding', 'available', 'reserved', 'utilized', 'spent', 'closed')),
  credit_account text NOT NULL CHECK (credit_account IN ('funding', 'available', 'reserved', 'utilized', 'spent', 'closed')),
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  currency text NOT NULL CHECK (currency IN ('USD', 'ZWG')),
  issuance_id uuid,
  reverses_id bigint REFERENCES ledger_movements(id),
  reference text,
  period_start timestamptz,
  actor text,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (debit_account <> credit_account),
  FOREIGN KEY (tenant_id, budget_id) REFERENCES budgets(tenant_id, id),
  FOREIGN KEY (tenant_id, issuance_id) REFERENCES issuances(tenant_id, id)
);
CREATE INDEX ledger_by_budget ON ledger_movements (tenant_id, budget_id, id);
CREATE INDEX ledger_by_time ON ledger_movements (tenant_id, created_at, id);
CREATE INDEX ledger_by_issuance ON ledger_movements (tenant_id, issuance_id) WHERE issuance_id IS NOT NULL;

CREATE TABLE budget_topups (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  budget_id uuid NOT NULL,
  reference text NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  movement_id bigint NOT NULL REFERENCES ledger_movements(id),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, budget_id, reference),
  FOREIGN KEY (tenant_id, budget_id) REFERENCES budgets(tenant_id, id)
);

-- Customers' points: signed movements; customers.points_balance is their sum and never < 0.
CREATE TABLE points_ledger (
  id bigserial PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  customer_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('earn', 'redeem', 'expire', 'refund', 'adjustment')),
  points bigint NOT NULL CHECK (points <> 0),
  issuance_id uuid,
  event_id uuid,
  reverses_id bigint REFERENCES points_ledger(id),
  expires_at timestamptz,
  expired boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers(tenant_id, id),
  FOREIGN KEY (tenant_id, issuance_id) REFERENCES issuances(tenant_id, id),
  FOREIGN KEY (tenant_id, event_id) REFERENCES events(tenant_id, id)
);
CREATE INDEX points_by_customer ON points_ledger (tenant_id, customer_id, id);
CREATE INDEX points_expiry ON points_ledger (tenant_id, expires_at) WHERE points > 0 AND NOT expired;

CREATE TABLE webhook_subscriptions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  url text NOT NULL CHECK (url ~ '^https?://'),
  secret text NOT NULL CHECK (secret LIKE 'whsec_%'),
  event_types text[] NOT NULL DEFAULT '{}',
  active boolean NOT NULL DEFAULT true,
  consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
  paused_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id)
);

-- Outbox: written in the same transaction as the change it reports.
CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  event_type text NOT NULL CHECK (event_type IN ('customer.enrolled', 'reward.issued',
    'reward.redeemed', 'reward.expired', 'reward.cancelled', 'budget.threshold')),
  message_id text NOT NULL DEFAULT ('msg_' || replace(gen_random_uuid()::text, '-', '')),
  payload jsonb NOT NULL,
  dedupe_key text,
  created_at timestamptz NOT NULL DEFAULT now(),
  dispatched_at timestamptz,
  UNIQUE (tenant_id, message_id)
);
CREATE UNIQUE INDEX outbox_dedupe ON outbox (tenant_id, event_type, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX outbox_pending ON outbox (id) WHERE dispatched_at IS NULL;

CREATE TABLE webhook_deliveries (
  id bigserial PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  outbox_id bigint NOT NULL REFERENCES outbox(id),
  subscription_id uuid NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_until timestamptz,
  last_status_code integer,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  UNIQUE (outbox_id, subscription_id),
  FOREIGN KEY (tenant_id, subscription_id) REFERENCES webhook_subscriptions(tenant_id, id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE webhook_attempts (
  id bigserial PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  delivery_id bigint NOT NULL REFERENCES webhook_deliveries(id),
  status_code integer,
  error text,
  duration_ms integer,
  attempted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (tenant_id, delivery_id);

-- Background jobs; claimed with FOR UPDATE SKIP LOCKED under a lease.
CREATE TABLE jobs (
  id bigserial PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  kind text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]{0,63}$'),
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'dead')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts integer NOT NULL DEFAULT 10 CHECK (max_attempts > 0),
  run_at timestamptz NOT NULL DEFAULT now(),
  locked_by text,
  lease_until timestamptz,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE status = 'pending';
CREATE INDEX jobs_leased ON jobs (lease_until) WHERE status = 'running';

-- Customer notifications queued for delivery on their channel.
CREATE TABLE notifications (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  customer_id uuid NOT NULL,
  channel text NOT NULL CHECK (channel IN ('whatsapp', 'ussd', 'sms')),
  template text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'delivered', 'read', 'failed')),
  provider_message_id text,
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers(tenant_id, id)
);
CREATE INDEX notifications_provider ON notifications (provider_message_id) WHERE provider_message_id IS NOT NULL;

-- Which tenant a channel address (WhatsApp phone number id, USSD service code) belongs to.
CREATE TABLE channel_routes (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  channel text NOT NULL CHECK (channel IN ('whatsapp', 'ussd')),
  address text NOT NULL CHECK (length(address) BETWEEN 1 AND 100),
  config jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, address)
);
CREATE INDEX channel_routes_tenant ON channel_routes (tenant_id);

CREATE TABLE channel_sessions (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  channel text NOT NULL CHECK (channel IN ('whatsapp', 'ussd')),
  session_key text NOT NULL,
  customer_id uuid,
  state jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, channel, session_key),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers(tenant_id, id)
);

CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  actor_type text NOT NULL CHECK (actor_type IN ('user', 'api_key', 'operator', 'system')),
  actor_id text,
  action text NOT NULL,
  entity_type text NOT NULL,
  entity_id text,
  before jsonb,
  after jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_list ON audit_log (tenant_id, id);

-- Append-only tables refuse UPDATE and DELETE for every role.
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'P0001';
END $$;
CREATE TRIGGER ledger_movements_append_only BEFORE UPDATE OR DELETE ON ledger_movements
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Row-level security on every table with a tenant_id (and on tenants itself), forced so the
-- table owner is subject to it too. The migrating role keeps a policy of its own for
-- operator work; loyalty_app sees only the tenant of its transaction.
DO $$
DECLARE
  t text;
BEGIN
  FOR t IN
    SELECT c.table_name FROM information_schema.columns c
    JOIN information_schema.tables tb ON tb.table_name = c.table_name AND tb.table_schema = c.table_schema
    WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND tb.table_type = 'BASE TABLE'
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant_id()) '
                   'WITH CHECK (tenant_id = app_tenant_id())', t);
    EXECUTE format('CREATE POLICY operator_access ON %I TO CURRENT_USER USING (true) WITH CHECK (true)', t);
  END LOOP;
END $$;
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants USING (id = app_tenant_id()) WITH CHECK (id = app_tenant_id());
CREATE POLICY operator_access ON tenants TO CURRENT_USER USING (true) WITH CHECK (true);

-- Grants: loyalty_app gets what the daemon needs and nothing more.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO loyalty_app;
GRANT SELECT ON schema_migrations TO loyalty_app;
GRANT SELECT, UPDATE ON tenants TO loyalty_app;
GRANT SELECT, INSERT, UPDATE ON users, refresh_tokens, api_keys, customers, budgets, campaigns,
  rewards, events, issuances, reward_codes, webhook_subscriptions, outbox, webhook_deliveries,
  jobs, notifications, channel_sessions TO loyalty_app;
GRANT DELETE ON rules, channel_sessions, webhook_subscriptions TO loyalty_app;
GRANT SELECT, INSERT, UPDATE ON rules TO loyalty_app;
GRANT SELECT, INSERT ON ledger_movements, budget_topups, points_ledger, webhook_attempts,
  audit_log TO loyalty_app;
GRANT SELECT ON channel_routes TO loyalty_app;
GRANT UPDATE (expired) ON points_ledger TO loyalty_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO loyalty_app;
GRANT EXECUTE ON FUNCTION app_tenant_id(), is_valid_timezone(text) TO loyalty_app;

-- Lookups that must happen before a tenant is known (login, API key, channel routing) go
-- through these narrow functions, which return only what authentication needs.
CREATE FUNCTION auth_find_user(p_email text)
  RETURNS TABLE (user_id uuid, tenant_id uuid, password_hash text, role text, status text,
                 tenant_status text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$ SELECT u.id, u.tenant_id, u.password_hash, u.role, u.status, t.status
        FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.email = lower(p_email) $$;

CREATE FUNCTION auth_find_api_key(p_prefix text)
  RETURNS TABLE (key_id uuid, tenant_id uuid, key_hash text, scopes text[], revoked boolean,
                 tenant_status text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$ SELECT k.id, k.tenant_id, k.key_hash, k.scopes, k.revoked_at IS NOT NULL, t.status
        FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.prefix = p_prefix $$;

CREATE FUNCTION auth_find_refresh_token(p_hash text)
  RETURNS TABLE (token_id uuid, tenant_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$ SELECT r.id, r.tenant_id FROM refresh_tokens r WHERE r.token_hash = p_hash $$;

CREATE FUNCTION channel_find_tenant(p_channel text, p_address text)
  RETURNS TABLE (tenant_id uuid, config jsonb)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$ SELECT r.tenant_id, r.config FROM channel_routes r JOIN tenants t ON t.id = r.tenant_id
        WHERE r.channel = p_channel AND r.address = p_address AND t.status = 'active' $$;

REVOKE ALL ON FUNCTION auth_find_user(text), auth_find_api_key(text),
  auth_find_refresh_token(text), channel_find_tenant(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_find_user(text), auth_find_api_key(text),
  auth_find_refresh_token(text), channel_find_tenant(text, text) TO loyalty_app;
