-- Conversations of the AI chat feed (000's VC Usage) and the live metrics they drive
-- (000's customer_metrics), updated in the same transaction as every conversation change.
CREATE TABLE conversations (
    tenant_id        UUID NOT NULL,
    id               UUID NOT NULL,
    session_id       TEXT NOT NULL,
    customer_id      UUID,
    channel          TEXT NOT NULL,
    contact          JSONB NOT NULL,
    messages         JSONB NOT NULL,
    interaction_count BIGINT NOT NULL,
    view_count       BIGINT NOT NULL,
    duration_seconds BIGINT NOT NULL,
    started_at       TIMESTAMPTZ,
    ended_at         TIMESTAMPTZ,
    summary          TEXT,
    topics           JSONB NOT NULL,
    metadata         JSONB NOT NULL,
    deleted_at       TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    version          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE UNIQUE INDEX conversations_session_key ON conversations (tenant_id, session_id);
CREATE INDEX conversations_customer_idx ON conversations (tenant_id, customer_id, started_at);

CREATE TABLE customer_metrics (
    tenant_id              UUID NOT NULL,
    customer_id            UUID NOT NULL,
    total_conversations    BIGINT NOT NULL,
    total_interactions     BIGINT NOT NULL,
    total_views            BIGINT NOT NULL,
    total_duration_seconds BIGINT NOT NULL,
    first_interaction_at   TIMESTAMPTZ,
    last_interaction_at    TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON conversations, customer_metrics TO rapport_app;
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['conversations', 'customer_metrics']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = rapport_current_tenant()) '
                       'WITH CHECK (tenant_id = rapport_current_tenant())', t);
    END LOOP;
END
$$;
