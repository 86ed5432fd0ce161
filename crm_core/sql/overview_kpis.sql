-- Grain: one row of headline KPIs for the period [$start, $end_excl) under the global filters.
WITH
-- @include f_customers
,
-- @include f_orders
,
period_orders AS (
    SELECT * FROM f_orders WHERE order_date >= $start AND order_date < $end_excl
),
-- Under a customer filter every customer with orders is in f_customers already; without one,
-- the customers with orders come from the customer_orders summary unless a category narrows them.
known AS (
    SELECT customer_id FROM f_customers
    UNION
    SELECT customer_id FROM customer_orders
    WHERE CAST($category AS VARCHAR) IS NULL
      AND CAST($region AS VARCHAR) IS NULL AND CAST($source AS VARCHAR) IS NULL
      AND CAST($owner AS VARCHAR) IS NULL AND CAST($segment AS VARCHAR) IS NULL
    UNION
    SELECT customer_id FROM f_orders
    WHERE CAST($category AS VARCHAR) IS NOT NULL
      AND CAST($region AS VARCHAR) IS NULL AND CAST($source AS VARCHAR) IS NULL
      AND CAST($owner AS VARCHAR) IS NULL AND CAST($segment AS VARCHAR) IS NULL
),
-- @include f_complaints
,
period_complaints AS (
    SELECT * FROM f_complaints WHERE received_at >= $start AND received_at < $end_excl
)
SELECT
    (SELECT count(*) FROM known) AS customers,
    (SELECT count(DISTINCT customer_id) FROM period_orders) AS active_customers,
    (SELECT coalesce(sum(amount), 0) FROM period_orders) AS revenue,
    (SELECT count(DISTINCT order_id) FROM period_orders) AS orders,
    (SELECT count(*) FROM period_complaints) AS complaints
