-- The review queue: pairs of customers that may be one person, with how sure Rapport is
-- and why. A dismissed pair is never proposed again. The pair is stored in id order.
CREATE TABLE duplicate_pairs (
    tenant_id   BLOB NOT NULL,
    customer_a  BLOB NOT NULL,
    customer_b  BLOB NOT NULL,
    confidence  INTEGER NOT NULL,
    reasons     TEXT NOT NULL,
    vetoed      INTEGER NOT NULL,
    probability REAL,
    evidence    TEXT,
    origin      TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, customer_a, customer_b),
    FOREIGN KEY (tenant_id, customer_a) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_b) REFERENCES customers (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX duplicate_pairs_open_idx ON duplicate_pairs (tenant_id, status, confidence);
