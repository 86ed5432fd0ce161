-- Grain: one row per delivery in [$start, $end_excl) with its first contact and whether it came
-- within $hours hours (see _pipeline_followups.sql).
WITH
-- @include pipeline_followups
SELECT *
FROM followups
ORDER BY delivered_at, order_id
