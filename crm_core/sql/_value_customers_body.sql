-- Fragment: value_customers' list over `value_customers` (one window); also read from the
-- shared window by value_customers_shared.
SELECT
    customer_id,
    name,
    owner,
    region,
    source,
    customer_type,
    tier_no,
    rfm_code,
    value_rank,
    recency_days,
    orders AS frequency,
    revenue AS monetary,
    gross_revenue,
    returns_amount,
    profit,
    r_score,
    f_score,
    m_score,
    last_order_date
FROM value_customers
WHERE (CAST($tier_no AS INTEGER) IS NULL OR tier_no = $tier_no)
  AND (CAST($rfm_code AS VARCHAR) IS NULL OR rfm_code = $rfm_code)
ORDER BY tier_no, value_rank, last_order_date DESC, customer_id
