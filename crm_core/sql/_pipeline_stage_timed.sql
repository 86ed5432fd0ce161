-- Fragment: `timed` = one row per filtered lead (f_leads of _pipeline_leads.sql): its segment
-- (the lead's $by attribute, '(all)' for anything else), stage, outcome and days to the stage,
-- to close and in the stage (open leads, to the end of the day $as_of).
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
