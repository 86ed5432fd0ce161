-- Grain: one row: the export's order history (first and last non-return order date over every
-- order, no filters: where the data start and end) and, among the buying customers under the
-- filters, those whose first purchase is fewer than $censor_days days after the data start
-- (left-censored: they may have bought before the export begins, so "new" is unknown).
-- No order at all: no row.
WITH
-- @include f_orders
,
-- customer_orders holds a row per customer (or none) with non-return lines, built from those
-- lines: their first and last order, without a pass over every line.
span AS (
    SELECT
        CAST(min(first_order_at) AS DATE) AS first_order_date,
        CAST(max(last_order_at) AS DATE) AS last_order_date
    FROM customer_orders
    HAVING count(*) > 0
),
-- Without a category filter a customer's lines pass or fail together: its first purchase is
-- customer_orders' (as weekly_summary.sql).
firsts AS (
    SELECT co.customer_id, CAST(co.first_order_at AS DATE) AS first_purchase_date
    FROM customer_orders AS co
    LEFT JOIN
    -- @include f_passing_customers
    ON fc.customer_id = co.customer_id
    WHERE CAST($category AS VARCHAR) IS NULL
      AND (fc.passes OR (CAST($region AS VARCHAR) IS NULL AND CAST($source AS VARCHAR) IS NULL
                         AND CAST($owner AS VARCHAR) IS NULL AND CAST($segment AS VARCHAR) IS NULL
                         AND CAST($regions AS VARCHAR) IS NULL
                         AND CAST($owners AS VARCHAR) IS NULL))
    UNION ALL
    SELECT customer_id, CAST(min(order_date) AS DATE) AS first_purchase_date
    FROM f_orders
    WHERE CAST($category AS VARCHAR) IS NOT NULL
    GROUP BY customer_id
)
SELECT
    s.first_order_date,
    s.last_order_date,
    count(f.customer_id) AS buyers,
    count(CASE WHEN f.first_purchase_date < s.first_order_date + $censor_days THEN 1 END)
        AS left_censored
FROM span AS s
LEFT JOIN firsts AS f ON f.first_purchase_date >= s.first_order_date
GROUP BY s.first_order_date, s.last_order_date
