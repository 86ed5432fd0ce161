-- Fragment: the rows of one shared purchase-days window: one row per (customer, calendar day
-- with non-return order lines) under the global filters, every day of the data, with the day's
-- amount and the customer's previous and next purchase day; tagged with its window_id.
WITH
-- @include f_orders
,
days AS (
    SELECT customer_id, CAST(order_date AS DATE) AS purchase_date, sum(amount) AS amount
    FROM f_orders
    GROUP BY customer_id, CAST(order_date AS DATE)
)
SELECT
    CAST($window_id AS BIGINT) AS window_id,
    customer_id,
    purchase_date,
    amount,
    lag(purchase_date) OVER (PARTITION BY customer_id ORDER BY purchase_date) AS prev_date,
    lead(purchase_date) OVER (PARTITION BY customer_id ORDER BY purchase_date) AS next_date
FROM days
