-- Grain: one row per filtered lead created by $as_of, with its contacts up to $as_of
-- (interactions naming the lead): count, first and last contact, and the days it was open.
WITH
-- @include pipeline_leads
,
contacts AS (
    SELECT
        i.lead_id,
        count(*) AS contacts,
        min(i.occurred_at) AS first_contact_at,
        max(i.occurred_at) AS last_contact_at
    FROM interactions AS i
    WHERE i.lead_id IS NOT NULL
      AND i.occurred_at < CAST($as_of AS DATE) + 1
    GROUP BY i.lead_id
)
SELECT
    l.lead_id,
    l.grade,
    l.owner,
    l.source,
    l.stage,
    l.outcome,
    l.created_at,
    l.closed_at,
    coalesce(c.contacts, 0) AS contacts,
    c.first_contact_at,
    c.last_contact_at,
    EXTRACT(EPOCH FROM (c.first_contact_at - l.created_at)) / 3600.0 AS hours_to_first_contact,
    EXTRACT(EPOCH FROM (
        CASE
            WHEN l.closed_at IS NOT NULL AND l.closed_at < CAST($as_of AS DATE) + 1
                THEN l.closed_at
            ELSE CAST(CAST($as_of AS DATE) + 1 AS TIMESTAMP)
        END - l.created_at
    )) / 86400.0 AS open_days,
    EXTRACT(EPOCH FROM (
        CAST(CAST($as_of AS DATE) + 1 AS TIMESTAMP) - coalesce(c.last_contact_at, l.created_at)
    )) / 86400.0 AS days_since_contact,
    l.closed_at IS NOT NULL AND l.closed_at < CAST($as_of AS DATE) + 1 AS closed_by_as_of
FROM f_leads AS l
LEFT JOIN contacts AS c ON c.lead_id = l.lead_id
WHERE l.created_at < CAST($as_of AS DATE) + 1
ORDER BY l.lead_id
