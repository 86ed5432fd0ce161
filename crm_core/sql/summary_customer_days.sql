-- Grain: one row per (customer_id, calendar day) with order lines, over every category: orders
-- counted distinct across categories (an order spanning two categories counts once), the sums
-- of _fact_day_sums and the distinct non-return orders (sale_orders); on a purchase day (a
-- non-return line) the customer's previous and next purchase day, as _purchase_days_select.sql
-- computes them (NULL on other days).
WITH
-- @include fact_lines
,
days AS (
    SELECT
        customer_id,
        CAST(order_date AS DATE) AS line_date,
        -- @include fact_orders_count
        ,
        -- @include fact_day_sums
        ,
        -- @include fact_sale_orders_count
    FROM fact_lines
    GROUP BY customer_id, CAST(order_date AS DATE)
)
SELECT
    customer_id,
    line_date,
    orders,
    lines,
    sale_lines,
    has_bought,
    net_amount,
    gross_amount,
    returns_amount,
    profit,
    CASE WHEN sale_lines > 0 THEN
        lag(line_date) OVER (PARTITION BY customer_id, sale_lines > 0 ORDER BY line_date)
    END AS prev_date,
    CASE WHEN sale_lines > 0 THEN
        lead(line_date) OVER (PARTITION BY customer_id, sale_lines > 0 ORDER BY line_date)
    END AS next_date,
    sale_orders
FROM days
