-- Fragment: the churn model's inputs per customer (clv_summary.sql) from `daily (customer_id,
-- purchase_date, amount, is_purchase)`, one row per customer-day, which the including query
-- defines first (from the fact layer's days, or from the order lines in clv_summary_lines.sql).
firsts AS (
    SELECT customer_id, min(purchase_date) AS first_date
    FROM daily
    WHERE is_purchase
    GROUP BY customer_id
    HAVING min(purchase_date) <= CAST($calibration_end AS DATE)
)
SELECT
    d.customer_id,
    f.first_date AS first_purchase_date,
    max(d.purchase_date) FILTER (
        WHERE d.is_purchase AND d.purchase_date <= CAST($calibration_end AS DATE)
    ) AS last_purchase_date,
    count(*) FILTER (
        WHERE d.is_purchase AND d.purchase_date <= CAST($calibration_end AS DATE)
    ) - 1 AS frequency,
    max(d.purchase_date) FILTER (
        WHERE d.is_purchase AND d.purchase_date <= CAST($calibration_end AS DATE)
    ) - f.first_date AS recency_days,
    CAST($calibration_end AS DATE) - f.first_date AS age_days,
    CAST(coalesce(avg(d.amount) FILTER (
        WHERE d.is_purchase AND d.purchase_date > f.first_date
          AND d.purchase_date <= CAST($calibration_end AS DATE)
    ), 0) AS DOUBLE) AS monetary_value,
    count(*) FILTER (
        WHERE d.is_purchase AND d.purchase_date > CAST($calibration_end AS DATE)
    ) AS holdout_frequency,
    CAST(sum(d.amount) FILTER (WHERE d.purchase_date <= CAST($calibration_end AS DATE)) AS DOUBLE)
        AS calibration_revenue
FROM daily AS d
JOIN firsts AS f ON f.customer_id = d.customer_id
GROUP BY d.customer_id, f.first_date
