-- Fragment: the columns of one customer's lifecycle row, in order (lifecycle_customers.sql;
-- the shared stage rows and the stage member lists keep the same).
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
