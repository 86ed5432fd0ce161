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
-- @include value_pareto_body
