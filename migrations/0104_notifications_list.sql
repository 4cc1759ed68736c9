-- The operator's and the dashboard's list of a tenant's notifications, newest first, with what
-- became of each (GET /v1/tenants/:tid/notifications, loyaltyctl notices list).
CREATE INDEX notifications_by_tenant ON notifications (tenant_id, created_at DESC, id DESC);
