-- Grain: one row per group of customers: complainants whose first complaint received in
-- [$start, $end_excl) met its resolve SLA ('met'), breached it ('breached') or has no outcome
-- ('unknown'), and customers who never complained ('never'). Reference date: that complaint's
-- receipt; for never-complainers, their first non-return order in the same window (they were
-- active then, as a complainant is). Retained = a non-return order in the $days days after the
-- reference. Only references whose follow-up window ends by the last order in the data count.
WITH
-- @include f_orders
,
-- @include f_complaints
,
-- @include complaints_clock
,
-- The last non-return order: the latest of customer_orders' (built from those lines) rather
-- than a scan of every line.
horizon AS (
    SELECT max(last_order_at) AS last_order_at FROM customer_orders
),
-- @include complaints_retention_firsts
refs AS (
    SELECT
        customer_id,
        ref_at,
        CASE WHEN resolve_sla IN ('met', 'breached') THEN resolve_sla ELSE 'unknown' END AS grp
    FROM firsts
    WHERE rn = 1
    UNION ALL
    -- Never-complainers are picked after grouping: a customer's lines pass or fail together.
    SELECT n.customer_id, n.ref_at, 'never' AS grp
    FROM (
        SELECT o.customer_id, min(o.order_date) AS ref_at
        FROM f_orders AS o
        CROSS JOIN horizon AS h
        WHERE o.order_date >= $start AND o.order_date < $end_excl
          AND o.order_date + CAST($days AS INTEGER) * INTERVAL '1 day' <= h.last_order_at
        GROUP BY o.customer_id
    ) AS n
    WHERE NOT EXISTS (SELECT 1 FROM complaints AS k WHERE k.customer_id = n.customer_id)
),
retained AS (
    SELECT DISTINCT r.grp, r.customer_id
    FROM refs AS r
    JOIN f_orders AS o
        ON o.customer_id = r.customer_id
       AND o.order_date > r.ref_at
       AND o.order_date <= r.ref_at + CAST($days AS INTEGER) * INTERVAL '1 day'
    -- Every reference lies in [$start, $end_excl): only lines after $start and before
    -- $end_excl + $days can follow one (a bound that spares a join with the older lines).
    WHERE o.order_date > $start
      AND o.order_date < $end_excl + CAST($days AS INTEGER) * INTERVAL '1 day'
)
SELECT
    r.grp AS customer_group,
    count(*) AS customers,
    count(t.customer_id) AS retained,
    CAST(count(t.customer_id) AS DOUBLE) / count(*) AS retention
FROM refs AS r
LEFT JOIN retained AS t ON t.grp = r.grp AND t.customer_id = r.customer_id
GROUP BY r.grp
ORDER BY CASE r.grp WHEN 'met' THEN 0 WHEN 'breached' THEN 1 WHEN 'unknown' THEN 2 ELSE 3 END
