-- Grain: one row per (acquisition month, months since first purchase) up to $as_of for cohorts
-- acquired in [$start, $end_excl): cohort size and customers with an order in that month.
WITH
-- @include f_orders
,
active AS (
    SELECT DISTINCT
        customer_id,
        CAST(date_trunc('month', order_date) AS DATE) AS month
    FROM f_orders
    WHERE CAST(order_date AS DATE) <= CAST($as_of AS DATE)
),
cohorts AS (
    SELECT customer_id, min(month) AS cohort
    FROM active
    GROUP BY customer_id
),
sizes AS (
    SELECT cohort, count(*) AS cohort_size
    FROM cohorts
    WHERE cohort >= CAST(date_trunc('month', CAST($start AS DATE)) AS DATE)
      AND cohort < $end_excl
    GROUP BY cohort
)
SELECT
    s.cohort,
    (EXTRACT(YEAR FROM a.month) - EXTRACT(YEAR FROM s.cohort)) * 12
        + EXTRACT(MONTH FROM a.month) - EXTRACT(MONTH FROM s.cohort) AS months_since,
    s.cohort_size,
    count(*) AS customers
FROM sizes AS s
JOIN cohorts AS c ON c.cohort = s.cohort
JOIN active AS a ON a.customer_id = c.customer_id
GROUP BY s.cohort, s.cohort_size, a.month
ORDER BY s.cohort, months_since
