-- Grain: one row per ($grain bucket, value of the $by column) with complaints, for whole
-- buckets overlapping [$start, $end]. $by is one of category, channel, severity, product, owner
-- (checked in complaints.py); a blank value is its own group (NULL).
WITH
-- @include f_complaints
,
bucketed AS (
    SELECT
        CAST(date_trunc($grain, received_at) AS DATE) AS bucket,
        CASE $by
            WHEN 'category' THEN category
            WHEN 'channel' THEN channel
            WHEN 'severity' THEN severity
            WHEN 'product' THEN product
            WHEN 'owner' THEN owner
        END AS grp
    FROM f_complaints
    WHERE date_trunc($grain, received_at) >= date_trunc($grain, CAST($start AS TIMESTAMP))
      AND date_trunc($grain, received_at) <= date_trunc($grain, CAST($end AS TIMESTAMP))
)
SELECT bucket, grp, count(*) AS complaints
FROM bucketed
GROUP BY bucket, grp
ORDER BY bucket, complaints DESC, grp
