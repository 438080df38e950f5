-- Customers merged into another are few; the index of who was merged into whom holds only
-- them. Indexed with every live customer's empty value, its statistics said a look-up
-- returned a thousand rows, and SQLite read the whole tenant instead on every customer
-- write (`write_keys` looks the merged customers up). A lookup by value implies the value
-- is present, so both databases use the partial index for it.
DROP INDEX customers_merged_into_idx;
CREATE INDEX customers_merged_into_idx ON customers (tenant_id, merged_into_customer_id)
    WHERE merged_into_customer_id IS NOT NULL;
