-- Grain: one row per calendar month that has complaints (all time): the month's first day and
-- the number of complaints received in it.
WITH
-- @include f_complaints
SELECT CAST(date_trunc('month', received_at) AS DATE) AS month, count(*) AS complaints
FROM f_complaints
GROUP BY 1
ORDER BY 1
