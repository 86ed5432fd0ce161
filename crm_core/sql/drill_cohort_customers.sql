-- Grain: one row per customer of the cohort $cohort (month of first non-return order, up to
-- $as_of) with a non-return order in the month starting $month: the customers one cell of
-- lifecycle_cohorts.sql counts, under the global filters and the scope. Orders are the distinct
-- non-return orders of that month, amount their lines' sum; by id.
-- PostgreSQL: no nested loop over the cohort's order lines (engine/postgres.py, planner_settings).
-- @postgres enable_nestloop=off jit=off
WITH
-- @include f_orders
,
lines AS (
    SELECT
        customer_id,
        order_id,
        amount,
        CAST(date_trunc('month', order_date) AS DATE) AS month
    FROM f_orders
    WHERE CAST(order_date AS DATE) <= CAST($as_of AS DATE)
),
cohorts AS (
    SELECT customer_id, min(month) AS cohort
    FROM lines
    GROUP BY customer_id
)
SELECT
    k.customer_id,
    c.name,
    c.region,
    c.owner,
    k.cohort,
    count(DISTINCT o.order_id) AS orders,
    sum(o.amount) AS amount
FROM cohorts AS k
JOIN lines AS o ON o.customer_id = k.customer_id
LEFT JOIN customers AS c ON c.customer_id = k.customer_id
WHERE k.cohort = CAST($cohort AS DATE)
  AND o.month = CAST($month AS DATE)
GROUP BY k.customer_id, c.name, c.region, c.owner, k.cohort
ORDER BY k.customer_id
