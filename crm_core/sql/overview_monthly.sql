-- Grain: one row per calendar month in [$start, $end_excl) that has orders: revenue, orders,
-- buying customers, and new customers (first non-return order ever in that month).
WITH
-- @include f_customers
,
-- @include f_orders
,
-- First non-return order of each customer passing the filters: from the customer_orders summary
-- unless a category narrows the orders.
firsts AS (
    SELECT s.customer_id, s.first_order_at
    FROM customer_orders AS s
    LEFT JOIN (
        SELECT customer_id, TRUE AS passes FROM f_customers
        WHERE CAST($region AS VARCHAR) IS NOT NULL OR CAST($source AS VARCHAR) IS NOT NULL
           OR CAST($owner AS VARCHAR) IS NOT NULL OR CAST($segment AS VARCHAR) IS NOT NULL
           OR CAST($regions AS VARCHAR) IS NOT NULL OR CAST($owners AS VARCHAR) IS NOT NULL
    ) AS fc ON fc.customer_id = s.customer_id
    WHERE CAST($category AS VARCHAR) IS NULL
      AND (fc.passes OR (CAST($region AS VARCHAR) IS NULL AND CAST($source AS VARCHAR) IS NULL
                         AND CAST($owner AS VARCHAR) IS NULL AND CAST($segment AS VARCHAR) IS NULL
                         AND CAST($regions AS VARCHAR) IS NULL
                         AND CAST($owners AS VARCHAR) IS NULL))
    UNION ALL
    SELECT customer_id, min(order_date) AS first_order_at
    FROM f_orders
    WHERE CAST($category AS VARCHAR) IS NOT NULL
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
