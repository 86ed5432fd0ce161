-- Grain: one row for the period [$start, $end_excl): the figures of a dealer's weekly report.
-- Filters and scope apply to orders, leads and complaints as their fragments say.
WITH
-- @include f_orders
,
-- @include weekly_orders_lines
,
-- @include pipeline_leads
,
-- @include f_complaints
,
period_complaints AS (
    SELECT * FROM f_complaints WHERE received_at >= $start AND received_at < $end_excl
),
-- Each customer's first non-return order under the filters.
firsts AS (
    -- @include first_orders_unnarrowed
    UNION ALL
    SELECT customer_id, min(order_date) AS first_order_at
    FROM f_orders
    WHERE CAST($category AS VARCHAR) IS NOT NULL
    GROUP BY customer_id
)
SELECT
    (SELECT count(*) FROM f_leads) AS new_leads,
    (SELECT orders FROM week_orders) AS orders,
    (SELECT revenue FROM week_orders) AS revenue,
    (SELECT count(*) FROM firsts
     WHERE first_order_at >= $start AND first_order_at < $end_excl) AS new_customers,
    (SELECT count(*) FROM period_complaints) AS complaints,
    (SELECT avg(satisfaction) FROM period_complaints) AS satisfaction
