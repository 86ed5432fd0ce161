-- Grain: one row per calendar month in [$start, $end_excl) that has orders: revenue, orders,
-- buying customers, and new customers (first non-return order ever in that month).
WITH
-- @include f_orders
,
firsts AS (
    SELECT customer_id, min(order_date) AS first_order_at
    FROM f_orders
    GROUP BY customer_id
),
months AS (
    SELECT
        CAST(date_trunc('month', order_date) AS DATE) AS month,
        sum(amount) AS revenue,
        count(DISTINCT order_id) AS orders,
        count(DISTINCT customer_id) AS customers
    FROM f_orders
    WHERE order_date >= $start AND order_date < $end_excl
    GROUP BY 1
),
news AS (
    SELECT CAST(date_trunc('month', first_order_at) AS DATE) AS month, count(*) AS new_customers
    FROM firsts
    GROUP BY 1
)
SELECT m.month, m.revenue, m.orders, m.customers, coalesce(n.new_customers, 0) AS new_customers
FROM months AS m
LEFT JOIN news AS n ON n.month = m.month
ORDER BY m.month
