-- Grain: one row: whether any non-return order line has a cost (profit can be computed).
SELECT EXISTS (SELECT 1 FROM orders WHERE cost IS NOT NULL AND NOT is_return) AS has_cost
