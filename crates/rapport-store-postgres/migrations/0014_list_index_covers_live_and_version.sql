-- The customer list by lifecycle stage sorted by update (SPEC section 12's list page) reads
-- its ids and versions from this index alone: whether a customer is live is known without
-- reading its row, so a tag filter probes the tags of index entries, and only the rows of the
-- page are read, when they are not already decoded at that version.
DROP INDEX customers_lifecycle_updated_idx;
CREATE INDEX customers_lifecycle_updated_idx
    ON customers (tenant_id, lifecycle_stage, updated_at, id) INCLUDE (deleted_at, version);
