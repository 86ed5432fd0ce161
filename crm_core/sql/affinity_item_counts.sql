-- Grain: one row for the whole orders table: how many distinct categories and products it
-- holds, which decides whether affinity rules run over categories or products (per dataset,
-- not per filter, so the item kind does not change as the filters do).
SELECT count(DISTINCT category) AS categories, count(DISTINCT product) AS products
FROM orders
WHERE NOT is_return
