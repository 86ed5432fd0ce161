-- DuckDB only: customers per (stage as of $as_of, stage in the shared lifecycle stages
-- $stages_id of a later day), the earlier stages computed from the shared purchase days $days_id
-- (crm_core/engine/facts.py); a customer not yet known at $as_of comes from 'new'.
-- Grain: one row per (stage_from, stage_to) with customers.
WITH
-- @include f_customers
,
-- @include lifecycle_shared
SELECT
    coalesce(a.stage, 'new') AS stage_from,
    b.stage AS stage_to,
    count(*) AS customers
FROM lifecycle_stages_rows AS b
LEFT JOIN lifecycle AS a ON a.customer_id = b.customer_id
WHERE b.window_id = $stages_id
GROUP BY coalesce(a.stage, 'new'), b.stage
