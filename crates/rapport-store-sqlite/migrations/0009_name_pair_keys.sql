-- Name pair keys (`name_pair`, `phonetic_pair`): two tokens of a name, or their sounds, as
-- one matching key, so find-or-create picks the few customers sharing a first and a last
-- name instead of the thousands sharing a first name. Written by the application, which
-- rewrites every customer's keys at the next start.
INSERT INTO pending_rebuilds (job) SELECT 'customer_index' WHERE EXISTS (SELECT 1 FROM customers)
    ON CONFLICT (job) DO NOTHING;
