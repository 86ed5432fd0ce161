-- Grain: one row for the whole database, or for the order lines dated in [$start, $end_excl)
-- (NULL bounds = all time) under the global filters. Value metrics count non-return orders only,
-- so a customer whose only orders are returns is not a customer with orders.
WITH
-- @include f_orders
SELECT
    sum(amount) AS revenue,
    count(DISTINCT customer_id) AS customers_with_orders,
    CAST(min(order_date) AS DATE) AS first_order_date,
    CAST(max(order_date) AS DATE) AS last_order_date
FROM f_orders
WHERE (CAST($start AS TIMESTAMP) IS NULL OR order_date >= CAST($start AS TIMESTAMP))
  AND (CAST($end_excl AS TIMESTAMP) IS NULL OR order_date < CAST($end_excl AS TIMESTAMP))
