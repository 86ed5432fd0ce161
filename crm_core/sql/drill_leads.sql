-- Grain: one row per lead created in [$start, $end_excl) (NULL = open) under the global filters
-- and the scope (the leads pipeline_stage_stats.sql counts), with its customer's name when the
-- lead names a known customer; by lead id.
WITH
-- @include pipeline_leads
SELECT
    l.lead_id,
    l.customer_id,
    c.name,
    coalesce(l.region, c.region) AS region,
    coalesce(l.owner, c.owner) AS owner,
    coalesce(l.source, c.source) AS source,
    l.stage,
    l.outcome,
    l.created_at,
    l.amount
FROM f_leads AS l
LEFT JOIN customers AS c ON c.customer_id = l.customer_id
ORDER BY l.lead_id
