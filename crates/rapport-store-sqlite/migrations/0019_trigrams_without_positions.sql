-- The trigram index holds what its look-ups read and no more: the name, company and phone
-- digits of each document, and in which of those columns a trigram is (`detail = column`),
-- not at which positions. No look-up reads the email's trigrams (emails come from the email
-- index), and every look-up is a set of single trigrams, so positions were never read; a
-- trigram's list of documents is then about a third of its size, and a search at a million
-- customers reads and walks that much less (docs/PERFORMANCE.md).
DROP TRIGGER customer_search_ai;
DROP TRIGGER customer_search_ad;
DROP TRIGGER customer_search_au;
DROP TABLE customer_search_fts;

CREATE VIRTUAL TABLE customer_search_fts USING fts5 (
    name, company, phone,
    content = 'customer_search', content_rowid = 'row_id', tokenize = 'trigram', detail = column
);
INSERT INTO customer_search_fts (customer_search_fts) VALUES ('rebuild');
INSERT INTO customer_search_fts (customer_search_fts) VALUES ('optimize');

CREATE TRIGGER customer_search_ai AFTER INSERT ON customer_search BEGIN
    INSERT INTO customer_search_fts (rowid, name, company, phone) VALUES (new.row_id, new.name, new.company, new.phone);
    INSERT INTO customer_search_keys (rowid, name, company, alt) VALUES (new.row_id, new.name, new.company, new.alt);
END;
CREATE TRIGGER customer_search_ad AFTER DELETE ON customer_search BEGIN
    INSERT INTO customer_search_fts (customer_search_fts, rowid, name, company, phone)
    VALUES ('delete', old.row_id, old.name, old.company, old.phone);
    INSERT INTO customer_search_keys (customer_search_keys, rowid, name, company, alt)
    VALUES ('delete', old.row_id, old.name, old.company, old.alt);
END;
CREATE TRIGGER customer_search_au AFTER UPDATE ON customer_search BEGIN
    INSERT INTO customer_search_fts (customer_search_fts, rowid, name, company, phone)
    VALUES ('delete', old.row_id, old.name, old.company, old.phone);
    INSERT INTO customer_search_keys (customer_search_keys, rowid, name, company, alt)
    VALUES ('delete', old.row_id, old.name, old.company, old.alt);
    INSERT INTO customer_search_fts (rowid, name, company, phone) VALUES (new.row_id, new.name, new.company, new.phone);
    INSERT INTO customer_search_keys (rowid, name, company, alt) VALUES (new.row_id, new.name, new.company, new.alt);
END;
