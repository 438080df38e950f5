-- The topics of each live conversation with its time, for "who discussed X lately" and
-- topic trends, kept with every conversation write.
CREATE TABLE conversation_topics (
    tenant_id       UUID NOT NULL,
    topic           TEXT NOT NULL,
    at              TIMESTAMPTZ NOT NULL,
    conversation_id UUID NOT NULL,
    PRIMARY KEY (tenant_id, topic, at, conversation_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
);
CREATE INDEX conversation_topics_conversation_idx ON conversation_topics (tenant_id, conversation_id);
CREATE INDEX conversation_topics_at_idx ON conversation_topics (tenant_id, at);

GRANT SELECT, INSERT, UPDATE, DELETE ON conversation_topics TO rapport_app;
ALTER TABLE conversation_topics ENABLE ROW LEVEL SECURITY;
ALTER TABLE conversation_topics FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON conversation_topics
    USING (tenant_id = rapport_current_tenant()) WITH CHECK (tenant_id = rapport_current_tenant());
