-- The names of live customers by id: a candidate look-up reads the names of the customers
-- sharing a probe's name keys (about 35 a row) and reads whole only those alike enough to
-- score, from this index alone where the visibility map allows.
CREATE INDEX customers_live_names_idx ON customers (tenant_id, id) INCLUDE (name) WHERE deleted_at IS NULL;
