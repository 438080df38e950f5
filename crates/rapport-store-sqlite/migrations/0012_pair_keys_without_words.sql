-- A customer's name pair keys hold single words only when the whole name is one word, so a
-- look-up by a full name reads the few customers sharing two of its words instead of the
-- thousands sharing one. Written by the application, which rewrites every customer's keys
-- at the next start.
INSERT INTO pending_rebuilds (job) SELECT 'customer_index' WHERE EXISTS (SELECT 1 FROM customers)
    ON CONFLICT (job) DO NOTHING;
