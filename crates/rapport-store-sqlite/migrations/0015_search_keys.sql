-- PostgreSQL's search gains an index of whole words in this migration; SQLite has had one
-- since 0004_search.sql (`customer_search_keys`). Nothing to change here.
SELECT 1;
