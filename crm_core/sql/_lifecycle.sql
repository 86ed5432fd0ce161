-- Fragment (needs f_customers and f_orders before it): relationship lifecycle per customer as of
-- $as_of, by the rules in docs/lifecycle.md. CTEs: lc_purchases (customer x purchase day),
-- lc_customers (customer facts), lifecycle (one row per known customer, its stage and rule).
-- A purchase is a calendar day with non-return orders: a car, its insurance and its accessories
-- bought on one day are one purchase, not a "repeat" relationship.
lc_purchases AS (
    SELECT
        customer_id,
        CAST(order_date AS DATE) AS purchase_date,
        sum(amount) AS amount
    FROM f_orders
    WHERE CAST(order_date AS DATE) <= CAST($as_of AS DATE)
    GROUP BY customer_id, CAST(order_date AS DATE)
),
lc_gaps AS (
    SELECT
        customer_id,
        purchase_date - lag(purchase_date) OVER (
            PARTITION BY customer_id ORDER BY purchase_date
        ) AS gap_days
    FROM lc_purchases
),
-- @include lifecycle_customers_ranked
-- @include lifecycle_rules
