-- Grain: one row per calendar month with an event up to $as_of: new customers (first purchase
-- that month), lost customers (the month a silence crosses the churn threshold: the first day
-- with more than $churn_days days since a purchase, i.e. purchase + $churn_days + 1 d) and
-- reactivated customers (a purchase after such a silence). A purchase on that very day keeps
-- the customer: the stage rule never saw it lost.
WITH
-- @include f_orders
,
purchases AS (
    SELECT DISTINCT customer_id, CAST(order_date AS DATE) AS purchase_date
    FROM f_orders
    WHERE CAST(order_date AS DATE) <= CAST($as_of AS DATE)
),
sequenced AS (
    SELECT
        customer_id,
        purchase_date,
        lag(purchase_date) OVER (PARTITION BY customer_id ORDER BY purchase_date) AS prev_date,
        lead(purchase_date) OVER (PARTITION BY customer_id ORDER BY purchase_date) AS next_date
    FROM purchases
),
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
