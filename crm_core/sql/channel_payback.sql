-- Grain: one row per (acquisition channel, month number) with order lines: the net revenue
-- (returns subtracted) of the period's new customers (as channel_new_customers) in their k-th
-- calendar month of buying, k = 1 the month of the first order, up to the data's end. Channel
-- NULL: customers without a source.
WITH
-- @include f_orders
,
firsts AS (
    SELECT customer_id, min(order_date) AS first_order_at
    FROM f_orders
    GROUP BY customer_id
),
news AS (
    SELECT customer_id, first_order_at
    FROM firsts
    WHERE first_order_at >= $start AND first_order_at < $end_excl
)
SELECT
    c.source AS channel,
    (EXTRACT(YEAR FROM l.order_date) - EXTRACT(YEAR FROM n.first_order_at)) * 12
        + EXTRACT(MONTH FROM l.order_date) - EXTRACT(MONTH FROM n.first_order_at) + 1 AS month_number,
    sum(l.net_amount) AS value
FROM news AS n
JOIN f_lines AS l ON l.customer_id = n.customer_id
LEFT JOIN customers AS c ON c.customer_id = n.customer_id
WHERE l.order_date >= n.first_order_at
GROUP BY 1, 2
ORDER BY 1, 2
