-- Grain: one row per customer in lifecycle stage $stage as of $as_of (the rows the stage bar
-- counts: lifecycle_stage_counts.sql over the same fragment), under the global filters and the
-- scope; highest lifetime revenue first, then by id.
WITH
-- @include f_customers
,
-- @include f_orders
,
-- @include lifecycle
SELECT
    l.customer_id,
    c.name,
    c.region,
    l.owner,
    l.stage,
    l.purchases,
    l.last_purchase_date,
    l.revenue,
    l.revenue_12m
FROM lifecycle AS l
LEFT JOIN customers AS c ON c.customer_id = l.customer_id
WHERE l.stage = $stage
ORDER BY l.revenue DESC, l.customer_id
