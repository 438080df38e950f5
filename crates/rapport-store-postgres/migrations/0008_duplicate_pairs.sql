-- The review queue: pairs of customers that may be one person, with how sure Rapport is
-- and why. A dismissed pair is never proposed again. The pair is stored in id order.
CREATE TABLE duplicate_pairs (
    tenant_id   UUID NOT NULL,
    customer_a  UUID NOT NULL,
    customer_b  UUID NOT NULL,
    confidence  INTEGER NOT NULL,
    reasons     JSONB NOT NULL,
    vetoed      BOOLEAN NOT NULL,
    probability DOUBLE PRECISION,
    evidence    JSONB,
    origin      TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, customer_a, customer_b),
    FOREIGN KEY (tenant_id, customer_a) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_b) REFERENCES customers (tenant_id, id)
);
CREATE INDEX duplicate_pairs_open_idx ON duplicate_pairs (tenant_id, status, confidence);

GRANT SELECT, INSERT, UPDATE, DELETE ON duplicate_pairs TO rapport_app;
ALTER TABLE duplicate_pairs ENABLE ROW LEVEL SECURITY;
ALTER TABLE duplicate_pairs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON duplicate_pairs
    USING (tenant_id = rapport_current_tenant()) WITH CHECK (tenant_id = rapport_current_tenant());
