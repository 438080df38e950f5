-- The topics of each live conversation with its time, for "who discussed X lately" and
-- topic trends, kept with every conversation write.
CREATE TABLE conversation_topics (
    tenant_id       BLOB NOT NULL,
    topic           TEXT NOT NULL,
    at              INTEGER NOT NULL,
    conversation_id BLOB NOT NULL,
    PRIMARY KEY (tenant_id, topic, at, conversation_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX conversation_topics_conversation_idx ON conversation_topics (tenant_id, conversation_id);
CREATE INDEX conversation_topics_at_idx ON conversation_topics (tenant_id, at);
