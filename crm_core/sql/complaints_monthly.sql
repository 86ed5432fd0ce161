-- Grain: one row per calendar month that has complaints received in [$start, $end_excl) (NULL
-- bounds = all time): the month's first day and the number of complaints received in it.
WITH
-- @include f_complaints
SELECT CAST(date_trunc('month', received_at) AS DATE) AS month, count(*) AS complaints
FROM f_complaints
WHERE (CAST($start AS TIMESTAMP) IS NULL OR received_at >= CAST($start AS TIMESTAMP))
  AND (CAST($end_excl AS TIMESTAMP) IS NULL OR received_at < CAST($end_excl AS TIMESTAMP))
GROUP BY 1
ORDER BY 1
