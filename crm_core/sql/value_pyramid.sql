-- Grain: one row per value tier that has customers (tier_no 1-4 active, 5 inactive,
-- 6 prospect) as of $as_of over the window [$start, $end_excl), under the global filters.
-- Ratios are DOUBLE: Spark keeps only 6 decimals of a DECIMAL / DECIMAL quotient.
WITH
-- @include value_window
,
-- @include value_base
SELECT
    tier_no,
    count(*) AS customers,
    sum(revenue) AS revenue,
    CAST(sum(revenue) AS DOUBLE) / nullif(CAST(sum(sum(revenue)) OVER () AS DOUBLE), 0)
        AS revenue_share,
    sum(profit) AS profit,
    CAST(sum(profit) AS DOUBLE) / nullif(CAST(sum(sum(profit)) OVER () AS DOUBLE), 0)
        AS profit_share,
    sum(orders) AS orders,
    CAST(sum(revenue) AS DOUBLE) / nullif(sum(orders), 0) AS avg_order_value,
    CAST(sum(orders) AS DOUBLE) / count(*) AS orders_per_customer
FROM value_customers
GROUP BY tier_no
ORDER BY tier_no
