-- Grain: one row of headline KPIs under the global filters for the period [$start, $end_excl)
-- and, in the prev_ columns, for the period [$prev_start, $start) before it (pass $prev_start =
-- $start for none). One scan of the order lines serves both periods.
WITH
-- @include f_customers
,
-- @include f_orders
,
period_orders AS (
    SELECT customer_id, order_id, amount, order_date >= $start AS in_period
    FROM f_orders
    WHERE order_date >= $prev_start AND order_date < $end_excl
),
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
    SELECT customer_id FROM f_orders
    WHERE CAST($category AS VARCHAR) IS NOT NULL
      AND CAST($region AS VARCHAR) IS NULL AND CAST($source AS VARCHAR) IS NULL
      AND CAST($owner AS VARCHAR) IS NULL AND CAST($segment AS VARCHAR) IS NULL
      AND CAST($regions AS VARCHAR) IS NULL AND CAST($owners AS VARCHAR) IS NULL
),
-- @include f_complaints
,
order_kpis AS (
    -- Grouped by period rather than count(DISTINCT …) FILTER: DuckDB runs distinct aggregates
    -- with a filter far slower than one distinct aggregate per group.
    SELECT
        in_period,
        count(DISTINCT customer_id) AS active_customers,
        sum(amount) AS revenue,
        count(DISTINCT order_id) AS orders
    FROM period_orders
    GROUP BY in_period
),
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
