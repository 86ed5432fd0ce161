-- Fragment: the select-list of an overdue lead (pipeline_overdue_leads.sql,
-- pipeline_overdue_top.sql), from `lead_rows` (_pipeline_lead_rows.sql) or rows of its columns.
owner,
lead_id,
grade,
stage,
outcome,
created_at,
closed_at,
last_contact_at,
days_since_contact,
required_days,
days_overdue
