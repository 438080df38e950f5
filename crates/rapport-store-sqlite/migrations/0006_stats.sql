-- Tenant-wide customer counters (SPEC section 9, GET /customers/stats): one row per tenant
-- and counter (customers, status:*, type:*, lifecycle:*, total_revenue), over live
-- customers, changed by the difference every customer write makes, in its transaction.
CREATE TABLE tenant_stats (
    tenant_id BLOB NOT NULL REFERENCES tenants (tenant_id),
    stat_key  TEXT NOT NULL,
    value     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, stat_key)
) WITHOUT ROWID;

-- Counters of the customers that existed before: counted at start by the application.
INSERT INTO pending_rebuilds (job) SELECT 'customer_index' WHERE EXISTS (SELECT 1 FROM customers)
    ON CONFLICT (job) DO NOTHING;
