-- Grain: one row per value tier that has customers (tier_no 1-4 active, 5 sleeping,
-- 6 prospect) as of $as_of over the window [$start, $end_excl), under the global filters.
-- Revenue is net of returns. Shares are of the active tiers' total (a sleeping customer's
-- returns in the window make its tier's net negative; it has no share).
-- Ratios are DOUBLE: Spark keeps only 6 decimals of a DECIMAL / DECIMAL quotient.
WITH
-- @include value_window
,
-- @include value_base
SELECT
    tier_no,
    count(*) AS customers,
    sum(revenue) AS revenue,
    CASE WHEN tier_no <= 4 THEN
        CAST(sum(revenue) AS DOUBLE) / nullif(CAST(sum(CASE WHEN tier_no <= 4 THEN sum(revenue) END)
            OVER () AS DOUBLE), 0)
    END AS revenue_share,
    sum(profit) AS profit,
    CASE WHEN tier_no <= 4 THEN
        CAST(sum(profit) AS DOUBLE) / nullif(CAST(sum(CASE WHEN tier_no <= 4 THEN sum(profit) END)
            OVER () AS DOUBLE), 0)
    END AS profit_share,
    sum(gross_revenue) AS gross_revenue,
    sum(returns_amount) AS returns_amount,
    sum(orders) AS orders,
    CAST(sum(revenue) AS DOUBLE) / nullif(sum(orders), 0) AS avg_order_value,
    CAST(sum(orders) AS DOUBLE) / count(*) AS orders_per_customer
FROM value_customers
GROUP BY tier_no
ORDER BY tier_no
