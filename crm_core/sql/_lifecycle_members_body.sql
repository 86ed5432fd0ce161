-- Fragment: lifecycle_members's select over `lifecycle`: the customers of stage $stage (every
-- stage when NULL), the first $limit of each stage (all when NULL) by revenue, highest first,
-- ties by customer id; the columns of lifecycle_customers.sql.
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
FROM (
    SELECT
        lifecycle.*,
        row_number() OVER (PARTITION BY stage ORDER BY revenue DESC, customer_id) AS member_rank
    FROM lifecycle
    WHERE CAST($stage AS VARCHAR) IS NULL OR stage = $stage
) AS ranked
WHERE CAST($limit AS BIGINT) IS NULL OR member_rank <= $limit
ORDER BY stage, member_rank
