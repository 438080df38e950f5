-- Search by whole words (SPEC section 10, `q`), as SQLite's second FTS5 index does: the
-- tokens of name, company and their sorted-letters and phonetic keys as a tsvector under a
-- GIN index. A common name's trigrams are in thousands of documents of every tenant, and the
-- trigram index scored each of them; its words are a few short posting lists.
ALTER TABLE customer_search ADD COLUMN keys TSVECTOR NOT NULL DEFAULT ''::tsvector;
CREATE INDEX customer_search_keys_idx ON customer_search USING gin (keys) WITH (fastupdate = off);

-- As for `%>` (0004_search.sql): under row-level security only a leakproof operator can be
-- an index condition. `@@` on a tsvector and `LIKE` compute a boolean from their operands;
-- a LIKE pattern may raise an error, but from the pattern (the query), never the row.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND rolsuper) THEN
        ALTER FUNCTION ts_match_vq(tsvector, tsquery) LEAKPROOF;
        ALTER FUNCTION textlike(text, text) LEAKPROOF;
    ELSE
        RAISE WARNING 'not a superuser: ts_match_vq and textlike are not leakproof, searches will scan the tenant';
    END IF;
END
$$;

-- Documents written before this migration get their keys at the next start.
INSERT INTO pending_rebuilds (job) SELECT 'customer_index' WHERE EXISTS (SELECT 1 FROM tenants)
    ON CONFLICT (job) DO NOTHING;
