-- Fragment: the rows of one shared lifecycle-stages window: one row per customer known by
-- $as_of under the global filters, with its stage, rule and the facts behind them (the columns
-- of lifecycle_customers.sql), from the shared purchase days $days_id; tagged with $window_id.
WITH
-- @include f_customers
,
-- @include lifecycle_shared
SELECT
    CAST($window_id AS BIGINT) AS window_id,
    customer_id,
    source,
    owner,
    stage,
    rule_key,
    end_pattern,
    purchases,
    first_purchase_date,
    last_purchase_date,
    days_since_last,
    relationship_days,
    span_days,
    median_gap_days,
    overdue_days,
    revenue,
    revenue_12m,
    revenue_prev_12m
FROM lifecycle
