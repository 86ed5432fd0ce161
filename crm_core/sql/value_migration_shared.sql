-- DuckDB only: value_migration.sql (same grain and columns) read from two shared value windows
-- (crm_core/facts.py): $before_id for the earlier window, $window_id for the current one.
WITH
tiers_before AS (
    SELECT customer_id, tier_no, revenue FROM value_window_rows WHERE window_id = $before_id
),
tiers_now AS (
    SELECT customer_id, tier_no, revenue FROM value_window_rows WHERE window_id = $window_id
)
-- @include value_migration_body
