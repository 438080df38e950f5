-- Engagement per live customer and day (UTC): conversations and interactions, kept with
-- every conversation change in the same transaction. "Top engaged this week" sums a week of
-- these narrow rows instead of reading the conversations with their transcripts. A deleted
-- customer has none. Filled for existing data at the next start.
CREATE TABLE engagement_daily (
    tenant_id     BLOB NOT NULL,
    day           INTEGER NOT NULL,
    customer_id   BLOB NOT NULL,
    conversations INTEGER NOT NULL,
    interactions  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, day, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX engagement_daily_customer_idx ON engagement_daily (tenant_id, customer_id);
INSERT INTO pending_rebuilds (job) SELECT 'engagement' WHERE EXISTS (SELECT 1 FROM conversations)
    ON CONFLICT (job) DO NOTHING;
