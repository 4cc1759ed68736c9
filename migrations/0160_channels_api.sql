-- The dashboard's Channels page (issue 18): tenant admins add and remove their WhatsApp numbers
-- and USSD codes through the API (loyaltyctl channel, as the owner, still does too).
--
-- 1. Each route gets an id, so the API can name one in a path (a service code such as *123*4#
--    is an awkward path segment). The primary key stays (channel, address): an address routes to
--    one tenant only.
-- 2. loyalty_app may insert and delete its tenant's routes; row-level security (tenant_isolation,
--    FOR ALL, with its WITH CHECK) keeps it to the tenant of the transaction. It may insert the
--    config column, but the API only ever writes templates there: the secret files
--    (access_token_file, app_secret_file) name files on the daemon's host and stay the
--    operator's (loyaltyctl).
ALTER TABLE channel_routes ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE channel_routes ADD CONSTRAINT channel_routes_id_key UNIQUE (id);
GRANT INSERT (tenant_id, channel, address, config), DELETE ON channel_routes TO loyalty_app;
