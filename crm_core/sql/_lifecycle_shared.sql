-- Fragment (needs f_customers before it): the lifecycle fragment's CTEs read from the shared
-- purchase days $days_id (crm_core/facts.py) instead of the order lines; the same rules.
-- One pass over the purchase days up to $as_of gives every customer's totals and median gap:
-- the middle gap (the mean of the two middle ones for an even count), as
-- _lifecycle_customers_ranked.sql finds it on every engine; DuckDB's median() aggregate gives
-- the same values (tests/test_facts.py) without ranking ten million gaps (NULL with no gap, as
-- there).
lc_customers AS (
    SELECT
        customer_id,
        -- @include lifecycle_totals
        ,
        median(purchase_date - prev_date) AS median_gap_days
    FROM purchase_days_rows
    WHERE window_id = $days_id AND purchase_date <= CAST($as_of AS DATE)
    GROUP BY customer_id
),
-- @include lifecycle_rules
