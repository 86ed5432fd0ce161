-- Grain: one row per calendar month in [$start, $end_excl) that has order lines: net revenue
-- (sales minus the returns dated in that month), orders (distinct non-return orders), buying
-- customers (net revenue > 0 in the month), and new customers (first non-return order ever in
-- that month).
WITH
-- @include f_customers
,
-- @include overview_months_lines
,
-- First non-return order of each customer passing the filters.
firsts AS (
    -- @include first_orders_unnarrowed
    UNION ALL
    SELECT customer_id, min(order_date) AS first_order_at
    FROM buyer_days
    WHERE CAST($category AS VARCHAR) IS NOT NULL
    GROUP BY customer_id
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
