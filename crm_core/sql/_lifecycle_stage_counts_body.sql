-- Fragment: lifecycle_stage_counts's select over `lifecycle`; also read from the shared purchase
-- days by lifecycle_stage_counts_shared.
SELECT
    stage,
    count(*) AS customers,
    sum(revenue) AS revenue,
    sum(revenue_12m) AS revenue_12m
FROM lifecycle
GROUP BY stage
