-- Fragment: the select-list items of a stage statistics row over `timed`
-- (_pipeline_stage_timed.sql), grouped by stage and outcome: leads, leads with a stage time, and
-- median days to the stage, to closing and in the stage.
count(*) AS leads,
count(days_to_stage) AS with_stage_time,
percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_stage) AS median_days_to_stage,
percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_close) AS median_days_to_close,
percentile_cont(0.5) WITHIN GROUP (ORDER BY days_in_stage) AS median_days_in_stage
