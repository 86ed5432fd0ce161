-- Grain: one row: first and last day with a non-return order.
SELECT
    CAST(min(order_date) AS DATE) AS first_date,
    CAST(max(order_date) AS DATE) AS last_date
FROM orders
WHERE NOT is_return
