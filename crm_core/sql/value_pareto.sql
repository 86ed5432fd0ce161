-- Grain: one row per point of the concentration curve of customers buying in
-- [$start, $end_excl) under the global filters (net revenue in the window > 0), ranked by net
-- revenue (ties: lower customer_id first): the last customer of each of about $points equal
-- slices, and the top $top_share of customers (ceil($top_share * n) of them) in every row.
WITH
-- @include f_orders
,
buyers AS (
    SELECT customer_id, sum(net_amount) AS revenue
    FROM f_lines
    WHERE order_date >= $start AND order_date < $end_excl
    GROUP BY customer_id
    HAVING sum(net_amount) > 0
),
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
