-- Fragment: value_pyramid's report over `value_customers` (one window); also read from the
-- shared window by value_pyramid_shared.
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
