-- Grain: one row per $grain bucket (day, week from Monday, month) from the first complaint's
-- bucket to the bucket of $end, kept where the bucket is not before the bucket of $start; whole
-- buckets, zero-filled. Complaints, orders (distinct non-return orders), active customers
-- (distinct customers with a non-return order in the bucket), complaints per 1 000 of each, and
-- the median complaint count of the last $window buckets (NULL until there are $window).
WITH RECURSIVE
-- @include f_complaints
,
first_bucket AS (
    SELECT CAST(date_trunc($grain, min(received_at)) AS TIMESTAMP) AS bucket FROM f_complaints
),
buckets (bucket) AS (
    SELECT bucket FROM first_bucket WHERE bucket IS NOT NULL
    UNION ALL
    SELECT bucket + CAST('1 ' || $grain AS INTERVAL)
    FROM buckets
    WHERE bucket < date_trunc($grain, CAST($end AS TIMESTAMP))
),
complaint_counts AS (
    SELECT CAST(date_trunc($grain, received_at) AS TIMESTAMP) AS bucket, count(*) AS complaints
    FROM f_complaints
    GROUP BY 1
),
-- @include complaints_order_counts_lines
,
series AS (
    SELECT
        b.bucket,
        row_number() OVER (ORDER BY b.bucket) AS bn,
        coalesce(c.complaints, 0) AS complaints,
        coalesce(o.orders, 0) AS orders,
        coalesce(o.active_customers, 0) AS active_customers
    FROM buckets AS b
    LEFT JOIN complaint_counts AS c ON c.bucket = b.bucket
    LEFT JOIN order_counts AS o ON o.bucket = b.bucket
),
rolling AS (
    SELECT
        s.bn,
        CASE WHEN count(*) = $window
            THEN percentile_cont(0.5) WITHIN GROUP (ORDER BY p.complaints)
        END AS rolling_median
    FROM series AS s
    JOIN series AS p ON p.bn BETWEEN s.bn - $window + 1 AND s.bn
    GROUP BY s.bn
)
SELECT
    CAST(s.bucket AS DATE) AS bucket,
    s.complaints,
    s.orders,
    s.active_customers,
    1000.0 * s.complaints / NULLIF(s.active_customers, 0) AS per_1000_customers,
    1000.0 * s.complaints / NULLIF(s.orders, 0) AS per_1000_orders,
    r.rolling_median
FROM series AS s
JOIN rolling AS r ON r.bn = s.bn
WHERE s.bucket >= date_trunc($grain, CAST($start AS TIMESTAMP))
ORDER BY s.bucket
