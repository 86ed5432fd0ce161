-- Grain: one row per product category of the order lines: the sidebar's category filter options
-- (reading the distinct categories of every order line on each page run is too slow).
SELECT DISTINCT category
FROM orders
WHERE category IS NOT NULL
