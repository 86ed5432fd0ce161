-- Fragment of complaints_trend.sql, from the order lines: `order_counts` (bucket, orders,
-- active_customers) of the $grain buckets from the bucket of $start to the bucket of $end, the
-- only ones shown (the rolling median reads complaints alone); none before the first complaint's
-- bucket. _complaints_order_counts_days.sql computes the same from the fact layer's days.
-- @include f_orders
,
order_counts AS (
    SELECT
        CAST(date_trunc($grain, order_date) AS TIMESTAMP) AS bucket,
        count(DISTINCT order_id) AS orders,
        count(DISTINCT customer_id) AS active_customers
    FROM f_orders
    WHERE order_date >= (SELECT bucket FROM first_bucket)
      AND order_date >= date_trunc($grain, CAST($start AS TIMESTAMP))
      AND order_date < date_trunc($grain, CAST($end AS TIMESTAMP))
          + CAST('1 ' || $grain AS INTERVAL)
    GROUP BY 1
)
