-- Fragment (needs f_customers before it): the lifecycle fragment's CTEs read from the shared
-- purchase days $days_id (crm_core/facts.py) instead of the order lines; the same rules.
lc_purchases AS (
    SELECT customer_id, purchase_date, amount
    FROM purchase_days_rows
    WHERE window_id = $days_id AND purchase_date <= CAST($as_of AS DATE)
),
lc_gaps AS (
    SELECT customer_id, purchase_date - prev_date AS gap_days
    FROM purchase_days_rows
    WHERE window_id = $days_id AND purchase_date <= CAST($as_of AS DATE)
),
-- @include lifecycle_rules
