-- DuckDB only: lifecycle_new_lost.sql (same grain and columns) read from the shared purchase
-- days $days_id (crm_core/facts.py): a next purchase after $as_of is not known as of then.
WITH
sequenced AS (
    SELECT
        customer_id,
        purchase_date,
        prev_date,
        CASE WHEN next_date <= CAST($as_of AS DATE) THEN next_date END AS next_date
    FROM purchase_days_rows
    WHERE window_id = $days_id AND purchase_date <= CAST($as_of AS DATE)
),
-- @include lifecycle_new_lost_body
