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
    -- @include pipeline_stage_measures
FROM timed
GROUP BY segment, stage, outcome
UNION ALL
SELECT
    FALSE AS by_segment,
    '(all)' AS segment,
    stage,
    outcome,
    -- @include pipeline_stage_measures
FROM timed
GROUP BY stage, outcome
ORDER BY by_segment, segment, stage, outcome
