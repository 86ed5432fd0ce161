-- Fragment of complaints_trend.sql, from the fact layer's customer_days
-- (_complaints_order_counts_lines.sql computes the same from the order lines): buckets start and
-- end on day boundaries, so their days hold exactly their lines. Read only where
-- order_proofs.orders_one_day holds (crm_core/metrics/complaints.py): each order then lies in
-- one customer's day, so the days' distinct non-return orders (sale_orders) add up. A customer is active in a bucket
-- once, on the first purchase day there: the one whose previous purchase day (prev_date) lies in
-- an earlier bucket or does not exist, so no distinct count is needed. The customer filters pass
-- or drop all of a customer's days (complaints are never filtered by product category).
order_counts AS (
    SELECT
        CAST(date_trunc($grain, d.line_date) AS TIMESTAMP) AS bucket,
        CAST(sum(d.sale_orders) AS BIGINT) AS orders,
        count(
            CASE WHEN d.prev_date IS NULL
                      OR date_trunc($grain, d.prev_date) < date_trunc($grain, d.line_date)
                 THEN 1 END
        ) AS active_customers
    FROM customer_days AS d
    LEFT JOIN
    -- @include f_passing_customers
    ON fc.customer_id = d.customer_id
    WHERE d.sale_lines > 0
      AND d.line_date >= (SELECT bucket FROM first_bucket)
      AND d.line_date >= date_trunc($grain, CAST($start AS TIMESTAMP))
      AND d.line_date < date_trunc($grain, CAST($end AS TIMESTAMP))
          + CAST('1 ' || $grain AS INTERVAL)
      AND
      -- @include fc_passes
    GROUP BY 1
)
