-- Fragment: `lc_customers` for _lifecycle_rules.sql from `lc_purchases` (customer x purchase day
-- up to $as_of, with its amount) and `lc_gaps` (each purchase's gap to the previous one), on
-- every engine. The median gap is the middle gap (the mean of the two middle ones for an
-- even count), found by ranking each customer's gaps: percentile_cont per customer holds every
-- group's values at once and runs out of memory at a million customers (bench/RESULTS.md).
-- DuckDB's median() aggregate gives the same values at a third of the cost and within its
-- memory limit at L, in the same pass as the totals (_lifecycle_shared.sql).
lc_ranked AS (
    SELECT
        customer_id,
        gap_days,
        row_number() OVER (PARTITION BY customer_id ORDER BY gap_days) AS gap_rank,
        count(*) OVER (PARTITION BY customer_id) AS gaps
    FROM lc_gaps
    WHERE gap_days IS NOT NULL
),
lc_median_gap AS (
    SELECT customer_id, avg(gap_days) AS median_gap_days
    FROM lc_ranked
    WHERE 2 * gap_rank BETWEEN gaps AND gaps + 2
    GROUP BY customer_id
),
lc_totals AS (
    SELECT
        customer_id,
        -- @include lifecycle_totals
    FROM lc_purchases
    GROUP BY customer_id
),
lc_customers AS (
    SELECT t.*, m.median_gap_days
    FROM lc_totals AS t
    LEFT JOIN lc_median_gap AS m ON m.customer_id = t.customer_id
),
