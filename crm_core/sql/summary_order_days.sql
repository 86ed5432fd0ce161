-- Grain: one row per (customer_id, calendar day, category) of the order lines: the fact layer's
-- day grain (docs/architecture.md), what the value window and the purchase days add up under a
-- category filter. Columns: orders (_fact_orders_count) and the sums of _fact_day_sums.
WITH
-- @include fact_lines
SELECT
    customer_id,
    CAST(order_date AS DATE) AS line_date,
    category,
    -- @include fact_orders_count
    ,
    -- @include fact_day_sums
FROM fact_lines
GROUP BY customer_id, CAST(order_date AS DATE), category
