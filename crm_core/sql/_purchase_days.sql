-- Fragment: `purchase_days` from the order lines: one row per (customer, calendar day with
-- non-return order lines) under the global filters, with the day's amount and the customer's
-- previous and next purchase day. _purchase_days_facts.sql computes the same from the fact layer.
-- @include f_orders
,
days AS (
    SELECT customer_id, CAST(order_date AS DATE) AS purchase_date, sum(amount) AS amount
    FROM f_orders
    GROUP BY customer_id, CAST(order_date AS DATE)
),
purchase_days AS (
    SELECT
        customer_id,
        purchase_date,
        amount,
        lag(purchase_date) OVER (PARTITION BY customer_id ORDER BY purchase_date) AS prev_date,
        lead(purchase_date) OVER (PARTITION BY customer_id ORDER BY purchase_date) AS next_date
    FROM days
)
