-- Grain: one row: what the fact layer's day grain may assume of the order lines.
-- one_line_per_order: no line has a line_no other than 1, so, (order_id, line_no) being the key
-- every load keeps unique (an append replaces all lines of an order), each order is one line.
-- orders_one_day: every order's lines fall on one customer and one calendar day, so the distinct
-- orders of a customer's days add up to the distinct orders of a window; only orders of several
-- lines need checking (those with a line_no other than 1). When it fails, the shared windows read
-- the order lines instead (crm_core/engine/facts.py).
WITH
multi AS (
    SELECT DISTINCT order_id FROM orders WHERE coalesce(line_no, 0) <> 1
),
spread AS (
    SELECT order_id
    FROM orders
    WHERE order_id IN (SELECT order_id FROM multi)
    GROUP BY order_id
    HAVING count(DISTINCT customer_id) > 1 OR count(DISTINCT CAST(order_date AS DATE)) > 1
)
SELECT
    (SELECT count(*) FROM multi) = 0 AS one_line_per_order,
    (SELECT count(*) FROM spread) = 0 AS orders_one_day
