-- The contact points (emails and phones) of given customers, which every candidate look-up
-- reads for the customers merged into a candidate: from the index of all of a customer's
-- keys that read about fifteen entries a customer (its name keys too), 2.4 ms for the 50
-- candidates of a common name at a million customers. This one holds the contact keys alone.
CREATE INDEX customer_matching_keys_contact_idx ON customer_matching_keys (tenant_id, customer_id)
    INCLUDE (key_type, key_value) WHERE key_type IN ('email', 'phone');
