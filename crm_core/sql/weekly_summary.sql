-- Grain: one row for the period [$start, $end_excl): the figures of a dealer's weekly report.
-- Customer filters apply to orders, leads (through the lead's customer or owner) and complaints.
WITH
-- @include f_orders
,
period_orders AS (
    SELECT * FROM f_orders WHERE order_date >= $start AND order_date < $end_excl
),
f_leads AS (
    SELECT l.*
    FROM leads AS l
    LEFT JOIN customers AS c ON c.customer_id = l.customer_id
    WHERE l.created_at >= $start AND l.created_at < $end_excl
      AND (CAST($region AS VARCHAR) IS NULL OR c.region = $region)
      AND (CAST($source AS VARCHAR) IS NULL OR c.source = $source OR l.source = $source)
      AND (CAST($owner AS VARCHAR) IS NULL OR c.owner = $owner OR l.owner = $owner)
      AND (CAST($segment AS VARCHAR) IS NULL OR c.segment = $segment)
),
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
    -- Net of returns: the returns dated in the week count against it.
    (SELECT coalesce(sum(net_amount), 0) FROM f_lines
     WHERE order_date >= $start AND order_date < $end_excl) AS revenue,
    (SELECT count(*) FROM firsts
     WHERE first_order_at >= $start AND first_order_at < $end_excl) AS new_customers,
    (SELECT count(*) FROM period_complaints) AS complaints,
    (SELECT avg(satisfaction) FROM period_complaints) AS satisfaction
