-- Grain: one row for the order lines dated in [$start, $end_excl) (NULL bounds = all time) under
-- the global filters. `revenue` is gross sales (non-return lines), `returns_amount` the absolute
-- value of the return lines and `net_revenue` the difference; customers with orders are those
-- with net spend > 0 (a customer whose purchases were all returned, or whose lines are all zero,
-- is not a buyer).
WITH
-- @include f_orders
,
per_customer AS (
    SELECT
        customer_id,
        sum(CASE WHEN NOT is_return THEN amount END) AS gross,
        sum(CASE WHEN is_return THEN -net_amount END) AS returned,
        sum(net_amount) AS net,
        min(CASE WHEN NOT is_return THEN order_date END) AS first_order_at,
        max(CASE WHEN NOT is_return THEN order_date END) AS last_order_at
    FROM f_lines
    WHERE (CAST($start AS TIMESTAMP) IS NULL OR order_date >= CAST($start AS TIMESTAMP))
      AND (CAST($end_excl AS TIMESTAMP) IS NULL OR order_date < CAST($end_excl AS TIMESTAMP))
    GROUP BY customer_id
)
SELECT
    coalesce(sum(gross), 0) AS revenue,
    coalesce(sum(net), 0) AS net_revenue,
    coalesce(sum(returned), 0) AS returns_amount,
    count(CASE WHEN net > 0 THEN 1 END) AS customers_with_orders,
    CAST(min(first_order_at) AS DATE) AS first_order_date,
    CAST(max(last_order_at) AS DATE) AS last_order_date
FROM per_customer
