-- Grain: one row: the export's order history (first and last non-return order date over every
-- order, no filters: where the data start and end) and, among the buying customers under the
-- filters, those whose first purchase is fewer than $censor_days days after the data start
-- (left-censored: they may have bought before the export begins, so "new" is unknown).
-- No order at all: no row.
WITH
-- @include f_orders
,
span AS (
    SELECT
        CAST(min(order_date) AS DATE) AS first_order_date,
        CAST(max(order_date) AS DATE) AS last_order_date
    FROM orders
    WHERE NOT is_return
    HAVING count(*) > 0
),
firsts AS (
    SELECT customer_id, CAST(min(order_date) AS DATE) AS first_purchase_date
    FROM f_orders
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
