-- DuckDB only: lifecycle_cohorts.sql (same grain and columns) read from the shared purchase
-- days $days_id (crm_core/facts.py).
WITH
active AS (
    SELECT DISTINCT
        customer_id,
        CAST(date_trunc('month', purchase_date) AS DATE) AS month
    FROM purchase_days_rows
    WHERE window_id = $days_id AND purchase_date <= CAST($as_of AS DATE)
),
-- @include lifecycle_cohorts_body
