-- Grain: one row per resolution-time bucket over the complaints received in
-- [$start, $end_excl): hours from receipt to resolution (the SLA clock: handled, else feedback,
-- else closed) split at $res_1 < $res_2 < $res_3 < $res_4 hours (bucket 0 = up to res_1 hours,
-- 4 = over res_4, 5 = not resolved, 6 = invalid times); rated, mean score, satisfied share.
WITH
-- @include f_complaints
,
-- @include complaints_clock
,
period AS (
    SELECT
        CASE
            WHEN to_resolve_h IS NULL THEN 5
            WHEN to_resolve_h < 0 THEN 6
            WHEN to_resolve_h <= $res_1 THEN 0
            WHEN to_resolve_h <= $res_2 THEN 1
            WHEN to_resolve_h <= $res_3 THEN 2
            WHEN to_resolve_h <= $res_4 THEN 3
            ELSE 4
        END AS bucket,
        satisfaction
    FROM c_clock
    WHERE received_at >= $start AND received_at < $end_excl
)
SELECT
    bucket,
    count(*) AS complaints,
    count(satisfaction) AS rated,
    avg(satisfaction) AS mean_score,
    CAST(count(CASE WHEN satisfaction >= $satisfied_min THEN 1 END) AS DOUBLE)
        / NULLIF(count(satisfaction), 0) AS satisfied_share
FROM period
GROUP BY bucket
ORDER BY bucket
