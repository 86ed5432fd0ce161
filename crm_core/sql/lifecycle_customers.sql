-- Grain: one row per customer known by $as_of (customers table and order-only customers, under
-- the global filters): lifecycle stage, the rule that placed it and the numbers behind it.
WITH
-- @include f_customers
,
-- @include f_orders
,
-- @include lifecycle
SELECT
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
ORDER BY customer_id
