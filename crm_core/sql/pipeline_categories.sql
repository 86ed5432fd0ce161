-- Grain: one row per distinct product category of non-return orders.
SELECT DISTINCT category FROM orders WHERE NOT is_return AND category IS NOT NULL
