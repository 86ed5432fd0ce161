-- Grain: pipeline_followup_summary.sql's two groupings of the deliveries in [$start,
-- $end_excl) from one pass over them: by_owner = FALSE, one segment '(all)' (no row without
-- deliveries), and by_owner = TRUE, one row per customer's owner ('–' when unknown). Columns as
-- there: deliveries, those followed up within $hours hours, median hours to the first contact.
WITH
-- @include pipeline_followups
SELECT
    FALSE AS by_owner,
    '(all)' AS segment,
    count(*) AS deliveries,
    sum(CASE WHEN within THEN 1 ELSE 0 END) AS within,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY hours_to_contact) AS median_hours
FROM followups
HAVING count(*) > 0
UNION ALL
SELECT
    TRUE AS by_owner,
    coalesce(owner, '–') AS segment,
    count(*) AS deliveries,
    sum(CASE WHEN within THEN 1 ELSE 0 END) AS within,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY hours_to_contact) AS median_hours
FROM followups
GROUP BY coalesce(owner, '–')
