-- Grain: one row: first and last day with a non-return order.
-- Read from the customer_orders summary (one row per buying customer, rebuilt by every load)
-- instead of every order line: the same two days, at a tenth of the rows or less.
SELECT
    CAST(min(first_order_at) AS DATE) AS first_date,
    CAST(max(last_order_at) AS DATE) AS last_date
FROM customer_orders
