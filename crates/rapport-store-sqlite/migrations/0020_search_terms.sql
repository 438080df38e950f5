-- One index of search terms, each spelled with its tenant's number, instead of two indexes
-- of every tenant's words and trigrams. A look-up of a term nobody in the tenant has read
-- the term's list of documents of every tenant before (FTS5 seeks to the tenant's range of
-- row ids only inside each list); a term that begins with the tenant's number has a list
-- of that tenant's documents alone. Rapport writes the terms itself (`dialect::terms_of`):
-- the trigrams of each word of name and company (`12gmar`), of the phone digits (`12p555`),
-- and the whole words with their sorted-letters and phonetic keys (`12kmaria`), every one
-- letters and digits only, so the `ascii` tokenizer reads each as one token. The index keeps
-- no copy of them (`content = ''`) and deletes by row id (`contentless_delete`); the
-- documents themselves stay in `customer_search`, whose deletes remove their terms.
DROP TRIGGER customer_search_ai;
DROP TRIGGER customer_search_ad;
DROP TRIGGER customer_search_au;
DROP TABLE customer_search_fts;
DROP TABLE customer_search_keys;

CREATE VIRTUAL TABLE customer_search_terms USING fts5 (
    terms, content = '', contentless_delete = 1, tokenize = 'ascii', detail = none
);

CREATE TRIGGER customer_search_ad AFTER DELETE ON customer_search BEGIN
    DELETE FROM customer_search_terms WHERE rowid = old.row_id;
END;

-- A search for the beginning of an email reads the documents by their email (one seek a
-- customer), not the customers' email index and then each document by its customer.
CREATE INDEX customer_search_email_idx ON customer_search (tenant_id, email) WHERE email <> '';

-- The terms of the documents already written, at the next start (Rust spells them).
INSERT INTO pending_rebuilds (job) SELECT 'search_terms' WHERE EXISTS (SELECT 1 FROM customer_search);
