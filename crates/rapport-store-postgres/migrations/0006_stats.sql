-- Tenant-wide customer counters (SPEC section 9, GET /customers/stats): one row per tenant
-- and counter (customers, status:*, type:*, lifecycle:*, total_revenue), over live
-- customers, changed by the difference every customer write makes, in its transaction.
CREATE TABLE tenant_stats (
    tenant_id UUID NOT NULL REFERENCES tenants (tenant_id),
    stat_key  TEXT NOT NULL,
    value     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, stat_key)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_stats TO rapport_app;
ALTER TABLE tenant_stats ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_stats FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_stats
    USING (tenant_id = rapport_current_tenant()) WITH CHECK (tenant_id = rapport_current_tenant());

-- Counters of the customers that existed before: counted at start by the application
-- (under row-level security, the migration itself may not see them).
INSERT INTO pending_rebuilds (job) SELECT 'customer_index' WHERE EXISTS (SELECT 1 FROM tenants)
    ON CONFLICT (job) DO NOTHING;
