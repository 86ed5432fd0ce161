-- Fragment: what pipeline_overdue_groups.sql selects from `lead_rows` (_pipeline_lead_rows.sql).
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
