-- Grain: one row per (owner, stage, outcome, closed later) of the filtered leads created by
-- $as_of and not closed by then: leads, leads overdue for a contact (days since the last contact,
-- or creation, above the grade's interval) and the largest days overdue. Whether a (stage,
-- outcome) is still open depends on the data's stage vocabulary, so pipeline.py decides that.
WITH
-- @include pipeline_lead_rows
SELECT
    coalesce(owner, '–') AS owner,
    stage,
    outcome,
    closed_at IS NOT NULL AS closed_later,
    count(*) AS open_leads,
    sum(CASE WHEN days_overdue > 0 THEN 1 ELSE 0 END) AS overdue,
    max(days_overdue) AS max_days_overdue
FROM lead_rows
WHERE NOT closed_by_as_of
GROUP BY coalesce(owner, '–'), stage, outcome, closed_at IS NOT NULL
