-- Fragment: value_migration's flows from `tiers_before` and `tiers_now` (customer_id, tier_no,
-- revenue); also read from two shared windows by value_migration_shared.
SELECT
    coalesce(b.tier_no, 0) AS tier_before,
    n.tier_no AS tier_now,
    count(*) AS customers,
    coalesce(sum(b.revenue), 0) AS revenue_before,
    sum(n.revenue) AS revenue_now
FROM tiers_now AS n
LEFT JOIN tiers_before AS b ON b.customer_id = n.customer_id
GROUP BY coalesce(b.tier_no, 0), n.tier_no
ORDER BY tier_before, tier_now
