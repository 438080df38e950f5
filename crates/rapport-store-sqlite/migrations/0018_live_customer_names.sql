-- The names of customers by id: a candidate look-up reads the names of the customers
-- sharing a probe's name keys (about 35 a row) and reads whole only those alike enough to
-- score. A tenant's names fit in the page cache where its rows do not. `deleted_at` is in
-- the index so that it answers "live customers' names" alone (a partial index would send
-- each look-up on to the table for it).
CREATE INDEX customers_live_names_idx ON customers (tenant_id, id, name, deleted_at);
