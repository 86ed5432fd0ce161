-- Grain: one row per (tier before, tier now) pair with customers: tiers as of $as_of_before
-- over [$start_before, $end_excl_before) and as of $as_of over [$start, $end_excl), global
-- filters. tier_before 0 = not yet known then (created later, no order by then).
WITH
windows AS (
    SELECT
        1 AS w,
        CAST($start_before AS DATE) AS start_date,
        CAST($end_excl_before AS DATE) AS end_excl,
        CAST($as_of_before AS DATE) AS as_of
    UNION ALL
    SELECT
        2,
        CAST($start AS DATE),
        CAST($end_excl AS DATE),
        CAST($as_of AS DATE)
),
-- @include value_base
,
tiers_before AS (SELECT customer_id, tier_no, revenue FROM value_customers WHERE w = 1),
tiers_now AS (SELECT customer_id, tier_no, revenue FROM value_customers WHERE w = 2)
-- @include value_migration_body
