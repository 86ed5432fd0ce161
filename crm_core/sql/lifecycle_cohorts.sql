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
-- @include lifecycle_cohorts_counts
