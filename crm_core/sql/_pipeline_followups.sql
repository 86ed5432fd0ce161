-- Fragment: followups = one row per delivery (an order in category $delivery_category, or any
-- order when it is NULL) dated in [$start, $end_excl) under the global filters: the customer's
-- owner, the first interaction with that customer at or after the delivery (within 30 days),
-- and whether it came in time: occurred_at in [order_date, order_date + $hours h], both ends
-- included.
-- @include f_orders
,
deliveries AS (
    SELECT order_id, customer_id, min(order_date) AS delivered_at
    FROM f_orders
    WHERE (CAST($delivery_category AS VARCHAR) IS NULL OR category = $delivery_category)
      AND order_date >= $start AND order_date < $end_excl
    GROUP BY order_id, customer_id
),
first_contacts AS (
    SELECT d.order_id, min(i.occurred_at) AS first_contact_at
    FROM deliveries AS d
    JOIN interactions AS i
        ON i.customer_id = d.customer_id
       AND i.occurred_at >= d.delivered_at
       AND i.occurred_at < d.delivered_at + INTERVAL '30' DAY
    GROUP BY d.order_id
),
followups AS (
    SELECT
        d.order_id,
        d.customer_id,
        c.owner,
        d.delivered_at,
        f.first_contact_at,
        EXTRACT(EPOCH FROM (f.first_contact_at - d.delivered_at)) / 3600.0 AS hours_to_contact,
        coalesce(
            f.first_contact_at <= d.delivered_at + CAST($hours AS INTEGER) * INTERVAL '1' HOUR,
            FALSE
        ) AS within
    FROM deliveries AS d
    LEFT JOIN first_contacts AS f ON f.order_id = d.order_id
    LEFT JOIN customers AS c ON c.customer_id = d.customer_id
)
