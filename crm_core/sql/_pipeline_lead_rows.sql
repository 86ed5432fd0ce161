-- Fragment: lead_rows = one row per filtered lead created by $as_of with its contacts up to
-- $as_of (interactions naming the lead): count, first and last contact, the days it was open,
-- the contact interval its grade requires ($days_h / $days_a / $days_b / $days_c, any other or
-- no grade $days_other) and the actual one (open days per contact). Time is measured at the end
-- of the day $as_of.
-- @include pipeline_leads
,
-- @include pipeline_lead_contact_counts
,
lead_times AS (
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
        EXTRACT(EPOCH FROM (c.first_contact_at - l.created_at)) / 3600.0
            AS hours_to_first_contact,
        EXTRACT(EPOCH FROM (
            CASE
                WHEN l.closed_at IS NOT NULL AND l.closed_at < CAST($as_of AS DATE) + 1
                    THEN l.closed_at
                ELSE CAST(CAST($as_of AS DATE) + 1 AS TIMESTAMP)
            END - l.created_at
        )) / 86400.0 AS open_days,
        EXTRACT(EPOCH FROM (
            CAST(CAST($as_of AS DATE) + 1 AS TIMESTAMP)
            - coalesce(c.last_contact_at, l.created_at)
        )) / 86400.0 AS days_since_contact,
        l.closed_at IS NOT NULL AND l.closed_at < CAST($as_of AS DATE) + 1 AS closed_by_as_of,
        CASE upper(trim(l.grade))
            WHEN 'H' THEN CAST($days_h AS DOUBLE)
            WHEN 'A' THEN CAST($days_a AS DOUBLE)
            WHEN 'B' THEN CAST($days_b AS DOUBLE)
            WHEN 'C' THEN CAST($days_c AS DOUBLE)
            ELSE CAST($days_other AS DOUBLE)
        END AS required_days
    FROM f_leads AS l
    LEFT JOIN lead_contact_counts AS c ON c.lead_id = l.lead_id
    WHERE l.created_at < CAST($as_of AS DATE) + 1
),
lead_rows AS (
    SELECT
        *,
        CASE WHEN contacts > 0 THEN open_days / contacts END AS actual_days,
        days_since_contact - required_days AS days_overdue
    FROM lead_times
)
