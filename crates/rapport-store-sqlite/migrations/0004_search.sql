-- Search (SPEC section 10, `q`): one document per live customer (folded name and company,
-- normalized email, phone digits, and the sorted-letters and phonetic keys of the words),
-- written in the same transaction as every customer write, indexed by FTS5 twice: with the
-- trigram tokenizer for substrings, and by whole tokens for words and their typo keys.
-- Deleted customers have no document.

-- Each tenant's documents are one range of row ids (tenant_no << 32 | n), so a search
-- seeks to its tenant's part of the index instead of reading every tenant's matches.
CREATE TABLE search_tenants (
    tenant_id BLOB PRIMARY KEY REFERENCES tenants (tenant_id),
    tenant_no INTEGER NOT NULL UNIQUE
) WITHOUT ROWID;

CREATE TABLE customer_search (
    row_id      INTEGER PRIMARY KEY,
    tenant_id   BLOB NOT NULL,
    customer_id BLOB NOT NULL,
    name        TEXT NOT NULL,
    company     TEXT NOT NULL,
    email       TEXT NOT NULL,
    phone       TEXT NOT NULL,
    alt         TEXT NOT NULL,
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE UNIQUE INDEX customer_search_customer_key ON customer_search (tenant_id, customer_id);

-- Substrings (words, their beginnings, emails, phone digits): trigrams.
CREATE VIRTUAL TABLE customer_search_fts USING fts5 (
    name, company, email, phone,
    content = 'customer_search', content_rowid = 'row_id', tokenize = 'trigram'
);
-- Whole words and their typo keys (sorted letters, phonetic codes): tokens, no positions.
CREATE VIRTUAL TABLE customer_search_keys USING fts5 (
    name, company, alt,
    content = 'customer_search', content_rowid = 'row_id', tokenize = 'unicode61 remove_diacritics 0', detail = none
);

CREATE TRIGGER customer_search_ai AFTER INSERT ON customer_search BEGIN
    INSERT INTO customer_search_fts (rowid, name, company, email, phone)
    VALUES (new.row_id, new.name, new.company, new.email, new.phone);
    INSERT INTO customer_search_keys (rowid, name, company, alt) VALUES (new.row_id, new.name, new.company, new.alt);
END;
CREATE TRIGGER customer_search_ad AFTER DELETE ON customer_search BEGIN
    INSERT INTO customer_search_fts (customer_search_fts, rowid, name, company, email, phone)
    VALUES ('delete', old.row_id, old.name, old.company, old.email, old.phone);
    INSERT INTO customer_search_keys (customer_search_keys, rowid, name, company, alt)
    VALUES ('delete', old.row_id, old.name, old.company, old.alt);
END;
CREATE TRIGGER customer_search_au AFTER UPDATE ON customer_search BEGIN
    INSERT INTO customer_search_fts (customer_search_fts, rowid, name, company, email, phone)
    VALUES ('delete', old.row_id, old.name, old.company, old.email, old.phone);
    INSERT INTO customer_search_keys (customer_search_keys, rowid, name, company, alt)
    VALUES ('delete', old.row_id, old.name, old.company, old.alt);
    INSERT INTO customer_search_fts (rowid, name, company, email, phone)
    VALUES (new.row_id, new.name, new.company, new.email, new.phone);
    INSERT INTO customer_search_keys (rowid, name, company, alt) VALUES (new.row_id, new.name, new.company, new.alt);
END;

-- One-off rebuilds the application runs at start, after the migrations: customers that
-- existed before this migration get their documents (the folding is Rust's, not SQL's).
CREATE TABLE pending_rebuilds (
    job TEXT PRIMARY KEY
) WITHOUT ROWID;
INSERT INTO pending_rebuilds (job) SELECT 'customer_index' WHERE EXISTS (SELECT 1 FROM customers);
