-- Grain: one row per segment of the deliveries in [$start, $end_excl) — the customer's owner
-- ('–' when unknown) when $by = 'owner', else one segment '(all)': deliveries, those followed up
-- within $hours hours, and the median hours to the first contact.
WITH
-- @include pipeline_followups
SELECT
    CASE CAST($by AS VARCHAR) WHEN 'owner' THEN coalesce(owner, '–') ELSE '(all)' END AS segment,
    count(*) AS deliveries,
    sum(CASE WHEN within THEN 1 ELSE 0 END) AS within,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY hours_to_contact) AS median_hours
FROM followups
GROUP BY CASE CAST($by AS VARCHAR) WHEN 'owner' THEN coalesce(owner, '–') ELSE '(all)' END
