-- Fragment: lifecycle_profile's select over `lifecycle`: known customers counted per (stage, end
-- pattern, source, purchases, quarter of the first purchase), with their revenue. The page's
-- counts, funnels and end patterns are sums over these groups (crm_core/metrics/lifecycle.py).
SELECT
    stage,
    end_pattern,
    source,
    purchases,
    CAST(date_trunc('quarter', first_purchase_date) AS DATE) AS first_purchase_date,
    count(*) AS customers,
    sum(revenue) AS revenue,
    sum(revenue_12m) AS revenue_12m
FROM lifecycle
GROUP BY
    stage,
    end_pattern,
    source,
    purchases,
    CAST(date_trunc('quarter', first_purchase_date) AS DATE)
ORDER BY stage, end_pattern, source, purchases, first_purchase_date
