-- DuckDB only: value_pareto_shared.sql (same rows, columns and types) for a shared value window
-- $window_id that ranks its buyers by revenue (crm_core/engine/facts.py
-- value_window_ranks_revenue): its value_rank, revenue descending then customer_id, is
-- _value_pareto_body.sql's rank_no, so nothing is sorted. A curve point is the last rank of its
-- bucket ceil(rank_no * $points / n) (the same expression as the body's, non-decreasing in
-- rank_no), and its cumulative revenue is the exact sum of the buckets up to it.
WITH
buyers AS (
    SELECT value_rank AS rank_no, revenue
    FROM value_window_rows
    WHERE window_id = $window_id AND value_rank IS NOT NULL
),
totals AS (
    SELECT
        count(*) AS n,
        sum(revenue) AS total_revenue,
        ceil(CAST($top_share AS DECIMAL(9, 6)) * count(*)) AS top_customers
    FROM buyers
),
buckets AS (
    SELECT
        ceil(b.rank_no * CAST($points AS DOUBLE) / t.n) AS bucket,
        max(b.rank_no) AS last_rank,
        sum(b.revenue) AS revenue,
        sum(CASE WHEN b.rank_no <= t.top_customers THEN b.revenue END) AS top_revenue
    FROM buyers AS b
    CROSS JOIN totals AS t
    GROUP BY bucket
)
SELECT
    k.last_rank AS customers,
    t.n,
    sum(k.revenue) OVER (ORDER BY k.bucket ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        AS cum_revenue,
    t.total_revenue,
    t.top_customers,
    sum(k.top_revenue) OVER () AS top_revenue
FROM buckets AS k
CROSS JOIN totals AS t
ORDER BY k.bucket
