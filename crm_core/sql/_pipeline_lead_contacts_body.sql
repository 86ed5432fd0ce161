-- Fragment: what pipeline_lead_contacts.sql selects from `lead_rows` (_pipeline_lead_rows.sql).
SELECT *
FROM lead_rows
ORDER BY lead_id
