-- Fragment: lifecycle_new_lost's monthly events from `sequenced` (customer, purchase_date,
-- prev_date, next_date up to $as_of); also read from the shared purchase days.
events AS (
    SELECT purchase_date AS event_date, 1 AS new_customers, 0 AS lost_customers,
        0 AS reactivated_customers
    FROM sequenced
    WHERE prev_date IS NULL
    UNION ALL
    SELECT purchase_date + $churn_days + 1, 0, 1, 0
    FROM sequenced
    WHERE purchase_date + $churn_days + 1 <= CAST($as_of AS DATE)
      AND (next_date IS NULL OR next_date > purchase_date + $churn_days + 1)
    UNION ALL
    SELECT purchase_date, 0, 0, 1
    FROM sequenced
    WHERE purchase_date - prev_date > $churn_days + 1
)
SELECT
    CAST(date_trunc('month', event_date) AS DATE) AS month,
    sum(new_customers) AS new_customers,
    sum(lost_customers) AS lost_customers,
    sum(reactivated_customers) AS reactivated_customers
FROM events
GROUP BY CAST(date_trunc('month', event_date) AS DATE)
ORDER BY month
