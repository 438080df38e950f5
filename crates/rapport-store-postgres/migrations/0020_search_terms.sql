-- SQLite's search terms gain its tenant's number in this migration (one FTS5 index of
-- tenant-spelled terms); PostgreSQL's indexes are unchanged. Nothing to change here.
SELECT 1;
