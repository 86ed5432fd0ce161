-- Grain: one row per (age bucket, severity) of the complaints still open at $as_of (no closed
-- time, received by then). Age = hours from receipt to $as_of; buckets by the day limits
-- $age_1 < $age_2 < $age_3 < $age_4: 0 = under age_1 days ... 4 = age_4 days or more.
WITH
-- @include f_complaints
,
-- @include complaints_clock
,
open_now AS (
    SELECT severity, age_h
    FROM c_clock
    WHERE closed_at IS NULL AND received_at <= CAST($as_of AS TIMESTAMP)
)
SELECT
    CASE
        WHEN age_h < 24 * $age_1 THEN 0
        WHEN age_h < 24 * $age_2 THEN 1
        WHEN age_h < 24 * $age_3 THEN 2
        WHEN age_h < 24 * $age_4 THEN 3
        ELSE 4
    END AS age_bucket,
    severity,
    count(*) AS complaints,
    max(age_h) / 24.0 AS oldest_days
FROM open_now
GROUP BY 1, 2
ORDER BY 1, 2
