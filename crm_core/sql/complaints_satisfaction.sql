-- Grain: one row per value of $by (category, channel, severity, owner; 'all' = one row) over the
-- complaints received in [$start, $end_excl): complaints, rated ones, mean score, satisfied
-- (score >= $satisfied_min) and their share of the rated.
WITH
-- @include f_complaints
,
period AS (
    SELECT
        CASE $by
            WHEN 'category' THEN category
            WHEN 'channel' THEN channel
            WHEN 'severity' THEN severity
            WHEN 'owner' THEN owner
            ELSE 'all'
        END AS grp,
        satisfaction
    FROM f_complaints
    WHERE received_at >= $start AND received_at < $end_excl
)
SELECT
    grp,
    count(*) AS complaints,
    count(satisfaction) AS rated,
    avg(satisfaction) AS mean_score,
    count(CASE WHEN satisfaction >= $satisfied_min THEN 1 END) AS satisfied,
    CAST(count(CASE WHEN satisfaction >= $satisfied_min THEN 1 END) AS DOUBLE)
        / NULLIF(count(satisfaction), 0) AS satisfied_share
FROM period
GROUP BY grp
ORDER BY complaints DESC, grp
