-- Engagement per live customer and day (UTC): conversations and interactions, kept with
-- every conversation change in the same transaction. "Top engaged this week" sums a week of
-- these narrow rows instead of reading the conversations with their transcripts. A deleted
-- customer has none. Filled for existing data at the next start (under row-level security
-- the migration may not see the conversations, so any tenant is reason enough).
CREATE TABLE engagement_daily (
    tenant_id     UUID NOT NULL,
    day           BIGINT NOT NULL,
    customer_id   UUID NOT NULL,
    conversations BIGINT NOT NULL,
    interactions  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, day, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX engagement_daily_customer_idx ON engagement_daily (tenant_id, customer_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON engagement_daily TO rapport_app;
ALTER TABLE engagement_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE engagement_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON engagement_daily
    USING (tenant_id = rapport_current_tenant()) WITH CHECK (tenant_id = rapport_current_tenant());

INSERT INTO pending_rebuilds (job) SELECT 'engagement' WHERE EXISTS (SELECT 1 FROM tenants)
    ON CONFLICT (job) DO NOTHING;
