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
-- @include lifecycle_new_lost_body
