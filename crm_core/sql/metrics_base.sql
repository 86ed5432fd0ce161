-- Grain: one row for the whole database. Value metrics count non-return orders only, so a
-- customer whose only orders are returns is not a customer with orders.
SELECT
    sum(amount) AS revenue,
    count(DISTINCT customer_id) AS customers_with_orders,
    CAST(min(order_date) AS DATE) AS first_order_date,
    CAST(max(order_date) AS DATE) AS last_order_date
FROM orders
WHERE NOT is_return
