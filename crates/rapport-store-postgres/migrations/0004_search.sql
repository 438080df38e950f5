-- Search (SPEC section 10, `q`): one document per live customer (folded name and company,
-- normalized email, phone digits, and the sorted-letters and phonetic keys of the words, in
-- one text), written in the same transaction as every customer write, under a GIN trigram
-- index. Deleted customers have no document.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE customer_search (
    tenant_id   UUID NOT NULL,
    customer_id UUID NOT NULL,
    doc         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
-- The trigrams alone, not (tenant_id, doc) with btree_gin: the planner prices a GIN scan by
-- its keys, and the tenant's key matches the whole tenant, so it would rather read the
-- tenant than use such an index. Trigram matches of other tenants are dropped by the
-- tenant condition on the few rows the index returns. No pending list (fastupdate): every
-- search would have to read it, and the planner, pricing that, would again read the tenant.
CREATE INDEX customer_search_trgm_idx ON customer_search USING gin (doc gin_trgm_ops) WITH (fastupdate = off);

GRANT SELECT, INSERT, UPDATE, DELETE ON customer_search TO rapport_app;
ALTER TABLE customer_search ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_search FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_search
    USING (tenant_id = rapport_current_tenant()) WITH CHECK (tenant_id = rapport_current_tenant());

-- Under row-level security, PostgreSQL uses a condition for an index scan only if its
-- operator is leakproof (it must not run before the policy otherwise); pg_trgm's are not
-- marked so, which would make every search read the whole tenant. The word similarity
-- operator only computes a number from its two texts and raises no error that depends on
-- them, so it is declared leakproof. Only a superuser may; without one, searches still
-- answer, through the policy's index and a recheck of each of the tenant's documents.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND rolsuper) THEN
        ALTER FUNCTION word_similarity_commutator_op(text, text) LEAKPROOF;
    ELSE
        RAISE WARNING 'not a superuser: word_similarity_commutator_op is not leakproof, searches will scan the tenant';
    END IF;
END
$$;

-- One-off rebuilds the application runs at start, after the migrations: customers that
-- existed before this migration get their documents (the folding is Rust's, not SQL's).
-- Not tenant data: read by the owner at start.
CREATE TABLE pending_rebuilds (
    job TEXT PRIMARY KEY
);
INSERT INTO pending_rebuilds (job) SELECT 'customer_index' WHERE EXISTS (SELECT 1 FROM tenants);
