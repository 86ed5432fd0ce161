-- Fragment: lifecycle_customers's select over `lifecycle`; also read from the shared purchase
-- days by lifecycle_customers_shared.
SELECT
    customer_id,
    source,
    owner,
    stage,
    rule_key,
    end_pattern,
    purchases,
    first_purchase_date,
    last_purchase_date,
    days_since_last,
    relationship_days,
    span_days,
    median_gap_days,
    overdue_days,
    revenue,
    revenue_12m,
    revenue_prev_12m
FROM lifecycle
ORDER BY customer_id
