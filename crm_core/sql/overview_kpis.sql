-- Grain: one row of headline KPIs under the global filters for the period [$start, $end_excl)
-- and, in the prev_ columns, for the period [$prev_start, $start) before it (pass $prev_start =
-- $start for none). One scan of the order lines (_overview_period_lines.sql) or of the fact
-- layer's days (_overview_period_days.sql) serves both periods. Revenue is net of returns
-- (each line on its own date); active customers are those with net revenue > 0 in the period;
-- orders are distinct non-return orders.
WITH
-- @include f_customers
,
-- @include overview_period_lines
,
-- Under a customer filter or a scope every customer with orders is in f_customers already; without one,
-- the customers with orders come from the customer_orders summary unless a category narrows them.
known AS (
    SELECT customer_id FROM f_customers
    UNION
    SELECT customer_id FROM customer_orders
    WHERE CAST($category AS VARCHAR) IS NULL
      AND CAST($region AS VARCHAR) IS NULL AND CAST($source AS VARCHAR) IS NULL
      AND CAST($owner AS VARCHAR) IS NULL AND CAST($segment AS VARCHAR) IS NULL
      AND CAST($regions AS VARCHAR) IS NULL AND CAST($owners AS VARCHAR) IS NULL
    UNION
    SELECT customer_id FROM buyers
    WHERE CAST($category AS VARCHAR) IS NOT NULL
      AND CAST($region AS VARCHAR) IS NULL AND CAST($source AS VARCHAR) IS NULL
      AND CAST($owner AS VARCHAR) IS NULL AND CAST($segment AS VARCHAR) IS NULL
      AND CAST($regions AS VARCHAR) IS NULL AND CAST($owners AS VARCHAR) IS NULL
),
-- @include f_complaints
,
complaint_kpis AS (
    SELECT
        count(CASE WHEN received_at >= $start THEN 1 END) AS complaints,
        count(CASE WHEN received_at < $start THEN 1 END) AS prev_complaints
    FROM f_complaints
    WHERE received_at >= $prev_start AND received_at < $end_excl
)
SELECT
    (SELECT count(*) FROM known) AS customers,
    coalesce(o.active_customers, 0) AS active_customers,
    coalesce(o.revenue, 0) AS revenue,
    coalesce(o.orders, 0) AS orders,
    c.complaints,
    coalesce(p.active_customers, 0) AS prev_active_customers,
    coalesce(p.revenue, 0) AS prev_revenue,
    coalesce(p.orders, 0) AS prev_orders,
    c.prev_complaints
FROM complaint_kpis AS c
LEFT JOIN order_kpis AS o ON o.in_period
LEFT JOIN order_kpis AS p ON NOT p.in_period
