-- CSV imports (SPEC section 9): one row per import with its options, counts and state, and
-- one item per customer it created or updated, with the fields it filled, so it can be
-- reverted. Each chunk of an import writes its items and the import's counts in one
-- transaction; updated_at says when the last one landed.
CREATE TABLE customer_imports (
    tenant_id     UUID NOT NULL,
    id            UUID NOT NULL,
    file_name     TEXT,
    actor_type    TEXT NOT NULL,
    actor_id      UUID,
    options       JSONB NOT NULL,
    counts        JSONB NOT NULL,
    status        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    reverted_at   TIMESTAMPTZ,
    reverted_by   UUID,
    revert_report JSONB,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE customer_import_items (
    tenant_id   UUID NOT NULL,
    import_id   UUID NOT NULL,
    line        BIGINT NOT NULL,
    action      TEXT NOT NULL,
    customer_id UUID NOT NULL,
    changes     JSONB NOT NULL,
    PRIMARY KEY (tenant_id, import_id, line),
    FOREIGN KEY (tenant_id, import_id) REFERENCES customer_imports (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX customer_import_items_customer_idx ON customer_import_items (tenant_id, customer_id);

GRANT SELECT, INSERT, UPDATE ON customer_imports TO rapport_app;
GRANT SELECT, INSERT ON customer_import_items TO rapport_app;
ALTER TABLE customer_imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_imports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_imports
    USING (tenant_id = rapport_current_tenant()) WITH CHECK (tenant_id = rapport_current_tenant());
ALTER TABLE customer_import_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_import_items FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_import_items
    USING (tenant_id = rapport_current_tenant()) WITH CHECK (tenant_id = rapport_current_tenant());
