-- Fragment: lifecycle_cohorts' retention from `cohorts` (customer x acquisition month, the month
-- of the first purchase day up to $as_of) and `active` (customer x month with an order up to
-- $as_of, for at least the customers of the cohorts acquired in [$start, $end_excl)).
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
