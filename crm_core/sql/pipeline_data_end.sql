-- Grain: one row: the last moment the lead pipeline is known at (lead creation, stage change,
-- close, or a contact), as a date; NULL without leads.
SELECT CAST(greatest(
    (SELECT max(created_at) FROM leads),
    coalesce((SELECT max(stage_changed_at) FROM leads), (SELECT max(created_at) FROM leads)),
    coalesce((SELECT max(closed_at) FROM leads), (SELECT max(created_at) FROM leads)),
    coalesce((SELECT max(occurred_at) FROM interactions), (SELECT max(created_at) FROM leads))
) AS DATE) AS last_date
