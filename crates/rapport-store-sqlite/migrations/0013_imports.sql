-- CSV imports (SPEC section 9): one row per import with its options, counts and state, and
-- one item per customer it created or updated, with the fields it filled, so it can be
-- reverted. Each chunk of an import writes its items and the import's counts in one
-- transaction; updated_at says when the last one landed.
CREATE TABLE customer_imports (
    tenant_id     BLOB NOT NULL,
    id            BLOB NOT NULL,
    file_name     TEXT,
    actor_type    TEXT NOT NULL,
    actor_id      BLOB,
    options       TEXT NOT NULL,
    counts        TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    reverted_at   INTEGER,
    reverted_by   BLOB,
    revert_report TEXT,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;

CREATE TABLE customer_import_items (
    tenant_id   BLOB NOT NULL,
    import_id   BLOB NOT NULL,
    line        INTEGER NOT NULL,
    action      TEXT NOT NULL,
    customer_id BLOB NOT NULL,
    changes     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, import_id, line),
    FOREIGN KEY (tenant_id, import_id) REFERENCES customer_imports (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX customer_import_items_customer_idx ON customer_import_items (tenant_id, customer_id);
