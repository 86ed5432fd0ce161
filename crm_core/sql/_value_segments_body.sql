-- Fragment: value_segments' report over `value_customers` (one window); also read from the
-- shared window by value_segments_shared.
SELECT
    rfm_code,
    count(*) AS customers,
    CAST(count(*) AS DOUBLE) / sum(count(*)) OVER () AS customer_share,
    sum(revenue) AS revenue,
    CAST(sum(revenue) AS DOUBLE) / nullif(CAST(sum(sum(revenue)) OVER () AS DOUBLE), 0)
        AS revenue_share,
    avg(CAST(recency_days AS DOUBLE)) AS recency_days,
    avg(CAST(orders AS DOUBLE)) AS frequency,
    avg(CAST(revenue AS DOUBLE)) AS monetary,
    avg(CAST(r_score AS DOUBLE)) AS r_score,
    avg(CAST(f_score AS DOUBLE)) AS f_score,
    avg(CAST(m_score AS DOUBLE)) AS m_score
FROM value_customers
WHERE rfm_code IS NOT NULL
GROUP BY rfm_code
ORDER BY rfm_code DESC
