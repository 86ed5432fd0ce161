-- Grain: one row: of the active customers (net revenue > 0, the active-customers tile's rule)
-- of the previous period [$prev_start, $start) and the period [$start, $end_excl) under the
-- global filters, those active in both (retained), only in the period (gained) and only in the
-- previous period (lost). current = retained + gained, previous = retained + lost.
WITH
-- @include f_orders
,
e_customers AS (
    SELECT
        customer_id,
        sum(CASE WHEN order_date >= $start THEN net_amount ELSE 0 END) AS now_revenue,
        sum(CASE WHEN order_date < $start THEN net_amount ELSE 0 END) AS before_revenue
    FROM f_lines
    WHERE order_date >= $prev_start AND order_date < $end_excl
    GROUP BY customer_id
)
SELECT
    count(CASE WHEN now_revenue > 0 AND before_revenue > 0 THEN 1 END) AS retained,
    count(CASE WHEN now_revenue > 0 AND NOT before_revenue > 0 THEN 1 END) AS gained,
    count(CASE WHEN before_revenue > 0 AND NOT now_revenue > 0 THEN 1 END) AS lost
FROM e_customers
