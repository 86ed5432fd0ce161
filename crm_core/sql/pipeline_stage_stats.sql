-- Grain: one row per (segment, stage, outcome) of the filtered leads, where segment is the
-- lead's $by attribute ('source', 'owner', 'grade'; anything else = one segment '(all)'):
-- leads, and median days from creation to entering the stage / to closing, and in the stage
-- (open leads, to the end of the day $as_of).
WITH
-- @include pipeline_leads
,
timed AS (
    SELECT
        CASE CAST($by AS VARCHAR)
            WHEN 'source' THEN coalesce(source, '–')
            WHEN 'owner' THEN coalesce(owner, '–')
            WHEN 'grade' THEN coalesce(grade, '–')
            ELSE '(all)'
        END AS segment,
        stage,
        outcome,
        EXTRACT(EPOCH FROM (stage_changed_at - created_at)) / 86400.0 AS days_to_stage,
        EXTRACT(EPOCH FROM (closed_at - created_at)) / 86400.0 AS days_to_close,
        CASE WHEN closed_at IS NULL THEN
            EXTRACT(EPOCH FROM (
                CAST(CAST($as_of AS DATE) + 1 AS TIMESTAMP) - stage_changed_at
            )) / 86400.0
        END AS days_in_stage
    FROM f_leads
)
SELECT
    segment,
    stage,
    outcome,
    count(*) AS leads,
    count(days_to_stage) AS with_stage_time,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_stage) AS median_days_to_stage,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_close) AS median_days_to_close,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY days_in_stage) AS median_days_in_stage
FROM timed
GROUP BY segment, stage, outcome
ORDER BY segment, stage, outcome
