-- Grain: one row per new customer of [$start, $end_excl) under the filters: a customer whose
-- first non-return order (under the filters; the Overview's "new customers") falls in the
-- period. Columns: customer_id, channel (the customer's acquisition source; NULL when the
-- customers table does not name one), first_order_at, first_year_value (net revenue, returns
-- subtracted, of the order lines dated in the 365 days from the first order) and partial (those
-- 365 days end after $data_end_excl: only the observed part of the first year is counted).
-- PostgreSQL: no nested loop over the period's new customers (engine/postgres.py, planner_settings).
-- @postgres enable_nestloop=off jit=off
WITH
-- @include f_orders
,
firsts AS (
    SELECT customer_id, min(order_date) AS first_order_at
    FROM f_orders
    GROUP BY customer_id
),
news AS (
    SELECT customer_id, first_order_at
    FROM firsts
    WHERE first_order_at >= $start AND first_order_at < $end_excl
),
first_year AS (
    SELECT n.customer_id, sum(l.net_amount) AS value
    FROM news AS n
    JOIN f_lines AS l ON l.customer_id = n.customer_id
    WHERE l.order_date >= n.first_order_at
      AND l.order_date < n.first_order_at + CAST($days AS INTEGER) * INTERVAL '1 day'
    GROUP BY n.customer_id
)
SELECT
    n.customer_id,
    c.source AS channel,
    n.first_order_at,
    coalesce(y.value, 0) AS first_year_value,
    n.first_order_at + CAST($days AS INTEGER) * INTERVAL '1 day'
        > CAST($data_end_excl AS TIMESTAMP) AS partial
FROM news AS n
LEFT JOIN customers AS c ON c.customer_id = n.customer_id
LEFT JOIN first_year AS y ON y.customer_id = n.customer_id
ORDER BY n.customer_id
