-- Top engaged customers of a window (the dashboard's "this week") read the live
-- conversations of that window only, through their activity time, instead of every
-- conversation of the tenant with its transcript.
CREATE INDEX conversations_activity_idx
    ON conversations (tenant_id, (COALESCE(started_at, created_at)), customer_id, interaction_count)
    WHERE deleted_at IS NULL;
