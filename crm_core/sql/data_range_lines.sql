-- Grain: one row: data_range.sql from the order lines, for a catalog without the fact layer (a
-- meeting snapshot frozen before it existed).
SELECT
    CAST(min(order_date) AS DATE) AS first_date,
    CAST(max(order_date) AS DATE) AS last_date
FROM orders
WHERE NOT is_return
