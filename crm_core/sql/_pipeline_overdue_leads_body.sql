-- Fragment: what pipeline_overdue_leads.sql selects from `lead_rows` (_pipeline_lead_rows.sql).
SELECT
    -- @include pipeline_overdue_columns
FROM lead_rows
WHERE NOT closed_by_as_of AND days_overdue > 0
ORDER BY CASE WHEN owner IS NULL THEN 1 ELSE 0 END, owner, days_overdue DESC, lead_id
