-- Grain: pipeline_stage_stats.sql for the $by segments and, in the rows with by_segment =
-- FALSE (segment '(all)'), for all the filtered leads together, from one pass over the leads:
-- one row per (segment, stage, outcome): leads, and median days from creation to entering the
-- stage / to closing, and in the stage (open leads, to the end of the day $as_of).
WITH
-- @include pipeline_leads
,
-- @include pipeline_stage_timed
SELECT
    TRUE AS by_segment,
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
UNION ALL
SELECT
    FALSE AS by_segment,
    '(all)' AS segment,
    stage,
    outcome,
    count(*) AS leads,
    count(days_to_stage) AS with_stage_time,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_stage) AS median_days_to_stage,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_close) AS median_days_to_close,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY days_in_stage) AS median_days_in_stage
FROM timed
GROUP BY stage, outcome
ORDER BY by_segment, segment, stage, outcome
