-- Conversations of the AI chat feed (000's VC Usage) and the live metrics they drive
-- (000's customer_metrics), updated in the same transaction as every conversation change.
CREATE TABLE conversations (
    tenant_id        BLOB NOT NULL,
    id               BLOB NOT NULL,
    session_id       TEXT NOT NULL,
    customer_id      BLOB,
    channel          TEXT NOT NULL,
    contact          TEXT NOT NULL,
    messages         TEXT NOT NULL,
    interaction_count INTEGER NOT NULL,
    view_count       INTEGER NOT NULL,
    duration_seconds INTEGER NOT NULL,
    started_at       INTEGER,
    ended_at         INTEGER,
    summary          TEXT,
    topics           TEXT NOT NULL,
    metadata         TEXT NOT NULL,
    deleted_at       INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX conversations_session_key ON conversations (tenant_id, session_id);
CREATE INDEX conversations_customer_idx ON conversations (tenant_id, customer_id, started_at);

CREATE TABLE customer_metrics (
    tenant_id              BLOB NOT NULL,
    customer_id            BLOB NOT NULL,
    total_conversations    INTEGER NOT NULL,
    total_interactions     INTEGER NOT NULL,
    total_views            INTEGER NOT NULL,
    total_duration_seconds INTEGER NOT NULL,
    first_interaction_at   INTEGER,
    last_interaction_at    INTEGER,
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
) WITHOUT ROWID;
