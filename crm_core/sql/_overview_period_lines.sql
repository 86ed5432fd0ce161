-- Fragment of overview_kpis.sql, from the order lines: `order_kpis` (in_period, active
-- customers, revenue, orders) of the period [$start, $end_excl) (in_period) and of
-- [$prev_start, $start), and `buyers`, the customers with a non-return line passing the filters.
-- _overview_period_days.sql computes the same from the fact layer's days.
-- @include f_orders
,
period_lines AS (
    SELECT customer_id, order_id, is_return, net_amount, order_date >= $start AS in_period
    FROM f_lines
    WHERE order_date >= $prev_start AND order_date < $end_excl
),
period_customers AS (
    SELECT in_period, customer_id, sum(net_amount) AS net_revenue
    FROM period_lines
    GROUP BY in_period, customer_id
),
order_kpis AS (
    -- Grouped by period rather than count(DISTINCT …) FILTER: DuckDB runs distinct aggregates
    -- with a filter far slower than one distinct aggregate per group.
    SELECT
        c.in_period,
        c.active_customers,
        c.revenue,
        coalesce(o.orders, 0) AS orders
    FROM (
        SELECT
            in_period,
            count(CASE WHEN net_revenue > 0 THEN 1 END) AS active_customers,
            sum(net_revenue) AS revenue
        FROM period_customers
        GROUP BY in_period
    ) AS c
    LEFT JOIN (
        SELECT in_period, count(DISTINCT order_id) AS orders
        FROM period_lines
        WHERE NOT is_return
        GROUP BY in_period
    ) AS o ON o.in_period = c.in_period
),
buyers AS (
    SELECT customer_id FROM f_orders
)
