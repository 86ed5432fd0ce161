-- Fragment: lead_contact_counts = one row per lead named by an interaction up to the end of the
-- day $as_of: its contacts then, the first and the last (whatever the filters: readers join it to
-- their leads).
lead_contact_counts AS (
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
