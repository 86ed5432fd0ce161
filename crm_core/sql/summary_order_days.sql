-- Grain: one row per (customer_id, calendar day, category) of the order lines: the fact layer's
-- day grain (docs/architecture.md), what the value window and the purchase days add up under a
-- category filter. Columns: orders (_fact_orders_count), the sums of _fact_day_sums and
-- sale_orders (_fact_sale_orders_count).
WITH
-- @include fact_lines
SELECT
    customer_id,
    CAST(order_date AS DATE) AS line_date,
    category,
    -- @include fact_orders_count
    ,
    -- @include fact_day_sums
    ,
    -- @include fact_sale_orders_count
FROM fact_lines
GROUP BY customer_id, CAST(order_date AS DATE), category
