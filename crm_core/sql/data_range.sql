-- Grain: one row: first and last day with a non-return order, read from the customer_orders
-- summary (a row per buying customer, every database has it: crm_core/engine/summaries.py)
-- rather than from every order line; the same days.
SELECT
    CAST(min(first_order_at) AS DATE) AS first_date,
    CAST(max(last_order_at) AS DATE) AS last_date
FROM customer_orders
