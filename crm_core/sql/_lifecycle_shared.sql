-- Fragment (needs f_customers before it): the lifecycle fragment's CTEs read from the shared
-- purchase days $days_id (crm_core/facts.py) instead of the order lines; the same rules.
lc_purchases AS (
    SELECT customer_id, purchase_date, amount
    FROM purchase_days_rows
    WHERE window_id = $days_id AND purchase_date <= CAST($as_of AS DATE)
),
-- The middle gap (the mean of the two middle ones for an even count), as
-- _lifecycle_median_gap_ranked.sql finds it on every engine: DuckDB's median() aggregate gives
-- the same values (tests/test_facts.py) without ranking ten million gaps.
lc_median_gap AS (
    SELECT customer_id, median(purchase_date - prev_date) AS median_gap_days
    FROM purchase_days_rows
    WHERE window_id = $days_id AND purchase_date <= CAST($as_of AS DATE)
      AND prev_date IS NOT NULL
    GROUP BY customer_id
),
-- @include lifecycle_rules
