-- Grain: one row per satisfaction score (rounded to a whole 1-5) over the rated complaints
-- received in [$start, $end_excl).
WITH
-- @include f_complaints
SELECT CAST(round(satisfaction) AS INTEGER) AS score, count(*) AS complaints
FROM f_complaints
WHERE satisfaction IS NOT NULL AND received_at >= $start AND received_at < $end_excl
GROUP BY 1
ORDER BY 1
