-- The merge journal (001's customer_merge_log): who was merged into whom, why, by whom,
-- snapshots of every record before, and exactly what moved, so a merge can be undone.
CREATE TABLE customer_merge_log (
    tenant_id      UUID NOT NULL,
    id             UUID NOT NULL,
    target_id      UUID NOT NULL,
    source_ids     JSONB NOT NULL,
    reason         TEXT NOT NULL,
    actor_type     TEXT NOT NULL,
    actor_id       UUID,
    snapshot       JSONB NOT NULL,
    moved          JSONB NOT NULL,
    target_changes JSONB NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    undone_at      TIMESTAMPTZ,
    undone_by      UUID,
    undo_report    JSONB,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, target_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX customer_merge_log_target_idx ON customer_merge_log (tenant_id, target_id);
CREATE INDEX customers_merged_into_idx ON customers (tenant_id, merged_into_customer_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON customer_merge_log TO rapport_app;
ALTER TABLE customer_merge_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_merge_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_merge_log
    USING (tenant_id = rapport_current_tenant()) WITH CHECK (tenant_id = rapport_current_tenant());
