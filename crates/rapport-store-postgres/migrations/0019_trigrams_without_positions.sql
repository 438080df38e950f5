-- SQLite's trigram index drops the email column and the trigrams' positions in this
-- migration; PostgreSQL's trigram index (pg_trgm) keeps no positions. Nothing to change here.
SELECT 1;
