-- Fragment: value_pareto's curve from `buyers` (customer_id, revenue > 0); also read from the
-- shared window by value_pareto_shared.
ranked AS (
    SELECT
        revenue,
        row_number() OVER (ORDER BY revenue DESC, customer_id) AS rank_no,
        count(*) OVER () AS n,
        sum(revenue) OVER () AS total_revenue,
        sum(revenue) OVER (
            ORDER BY revenue DESC, customer_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS cum_revenue
    FROM buyers
),
with_top AS (
    SELECT
        ranked.*,
        ceil(CAST($top_share AS DECIMAL(9, 6)) * n) AS top_customers,
        sum(CASE WHEN rank_no <= ceil(CAST($top_share AS DECIMAL(9, 6)) * n) THEN revenue END)
            OVER () AS top_revenue
    FROM ranked
)
SELECT rank_no AS customers, n, cum_revenue, total_revenue, top_customers, top_revenue
FROM with_top
WHERE rank_no = n
   OR ceil(rank_no * CAST($points AS DOUBLE) / n) < ceil((rank_no + 1) * CAST($points AS DOUBLE) / n)
ORDER BY rank_no
