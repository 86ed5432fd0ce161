-- Fragment: the rows of one shared contact-counts window: lead_contact_counts
-- (_pipeline_lead_contact_counts.sql) as of $as_of, tagged with $window_id.
WITH
-- @include pipeline_lead_contact_counts
SELECT
    CAST($window_id AS BIGINT) AS window_id,
    lead_id,
    contacts,
    first_contact_at,
    last_contact_at
FROM lead_contact_counts
