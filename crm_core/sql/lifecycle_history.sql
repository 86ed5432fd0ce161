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
-- Each customer's first purchase under the filters.
firsts AS (
    SELECT customer_id, CAST(first_order_at AS DATE) AS first_purchase_date
    FROM (
        -- @include first_orders_unnarrowed
    ) AS u
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
