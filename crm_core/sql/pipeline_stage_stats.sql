-- Grain: one row per (segment, stage, outcome) of the filtered leads, where segment is the
-- lead's $by attribute ('source', 'owner', 'grade'; anything else = one segment '(all)'):
-- leads, and median days from creation to entering the stage / to closing, and in the stage
-- (open leads, to the end of the day $as_of).
WITH
-- @include pipeline_leads
,
-- @include pipeline_stage_timed
SELECT
    segment,
    stage,
    outcome,
    -- @include pipeline_stage_measures
FROM timed
GROUP BY segment, stage, outcome
ORDER BY segment, stage, outcome
