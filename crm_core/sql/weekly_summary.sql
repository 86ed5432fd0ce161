-- Grain: one row for the period [$start, $end_excl): the figures of a dealer's weekly report.
-- Filters and scope apply to orders, leads and complaints as their fragments say.
WITH
-- @include f_orders
,
period_orders AS (
    SELECT * FROM f_orders WHERE order_date >= $start AND order_date < $end_excl
),
-- @include pipeline_leads
,
-- @include f_complaints
,
period_complaints AS (
    SELECT * FROM f_complaints WHERE received_at >= $start AND received_at < $end_excl
),
firsts AS (
    SELECT customer_id, min(order_date) AS first_order_at FROM f_orders GROUP BY customer_id
)
SELECT
    (SELECT count(*) FROM f_leads) AS new_leads,
    (SELECT count(DISTINCT order_id) FROM period_orders) AS orders,
    (SELECT coalesce(sum(amount), 0) FROM period_orders) AS revenue,
    (SELECT count(*) FROM firsts
     WHERE first_order_at >= $start AND first_order_at < $end_excl) AS new_customers,
    (SELECT count(*) FROM period_complaints) AS complaints,
    (SELECT avg(satisfaction) FROM period_complaints) AS satisfaction
