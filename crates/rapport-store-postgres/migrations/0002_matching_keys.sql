-- Matching keys (000's customer_matching_keys): the normalized emails, phones and names of
-- every live customer, kept in the same transaction as the change that causes them.
CREATE TABLE customer_matching_keys (
    tenant_id   UUID NOT NULL,
    key_type    TEXT NOT NULL,
    key_value   TEXT NOT NULL,
    customer_id UUID NOT NULL,
    PRIMARY KEY (tenant_id, key_type, key_value, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX customer_matching_keys_customer_idx ON customer_matching_keys (tenant_id, customer_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON customer_matching_keys TO rapport_app;
ALTER TABLE customer_matching_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_matching_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_matching_keys
    USING (tenant_id = rapport_current_tenant()) WITH CHECK (tenant_id = rapport_current_tenant());
