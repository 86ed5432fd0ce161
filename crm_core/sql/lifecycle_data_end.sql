-- Grain: one row: the last non-return order date and the last date anything about customers is
-- known (that order date or the latest customer creation date, whichever is later).
WITH
ends AS (
    SELECT
        (SELECT CAST(max(order_date) AS DATE) FROM orders WHERE NOT is_return) AS last_order_date,
        (SELECT CAST(max(created_at) AS DATE) FROM customers) AS last_created_date
)
SELECT
    last_order_date,
    CASE
        WHEN last_created_date IS NULL THEN last_order_date
        WHEN last_order_date IS NULL THEN last_created_date
        ELSE greatest(last_order_date, last_created_date)
    END AS last_known_date
FROM ends
