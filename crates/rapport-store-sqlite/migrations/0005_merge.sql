-- The merge journal (001's customer_merge_log): who was merged into whom, why, by whom,
-- snapshots of every record before, and exactly what moved, so a merge can be undone.
CREATE TABLE customer_merge_log (
    tenant_id      BLOB NOT NULL,
    id             BLOB NOT NULL,
    target_id      BLOB NOT NULL,
    source_ids     TEXT NOT NULL,
    reason         TEXT NOT NULL,
    actor_type     TEXT NOT NULL,
    actor_id       BLOB,
    snapshot       TEXT NOT NULL,
    moved          TEXT NOT NULL,
    target_changes TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    undone_at      INTEGER,
    undone_by      BLOB,
    undo_report    TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, target_id) REFERENCES customers (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX customer_merge_log_target_idx ON customer_merge_log (tenant_id, target_id);
CREATE INDEX customers_merged_into_idx ON customers (tenant_id, merged_into_customer_id);
