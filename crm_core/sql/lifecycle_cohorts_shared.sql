-- DuckDB only: lifecycle_cohorts.sql (same grain and columns) read from the shared purchase
-- days $days_id (crm_core/facts.py). A customer's first purchase day is the one without a
-- previous one, so the cohorts need no pass over every customer's months; only the customers
-- acquired in [$start, $end_excl) have their months listed, and none of theirs precedes $start.
WITH
cohorts AS (
    SELECT customer_id, cohort
    FROM (
        SELECT customer_id, CAST(date_trunc('month', purchase_date) AS DATE) AS cohort
        FROM purchase_days_rows
        WHERE window_id = $days_id AND prev_date IS NULL
          AND purchase_date <= CAST($as_of AS DATE)
          AND purchase_date >= CAST(date_trunc('month', CAST($start AS DATE)) AS DATE)
    )
    WHERE cohort < $end_excl
),
active AS (
    SELECT DISTINCT
        d.customer_id,
        CAST(date_trunc('month', d.purchase_date) AS DATE) AS month
    FROM purchase_days_rows AS d
    SEMI JOIN cohorts AS c ON c.customer_id = d.customer_id
    WHERE d.window_id = $days_id
      AND d.purchase_date <= CAST($as_of AS DATE)
      AND d.purchase_date >= CAST(date_trunc('month', CAST($start AS DATE)) AS DATE)
),
-- @include lifecycle_cohorts_counts
