-- Grain: one row per calendar month from the month of $start to the month of $end: complaints
-- and those of the same month a year earlier (NULL when that month is before the first
-- complaint, i.e. unknown rather than zero), with the relative change.
WITH RECURSIVE
-- @include f_complaints
,
first_month AS (
    SELECT CAST(date_trunc('month', min(received_at)) AS TIMESTAMP) AS month FROM f_complaints
),
months (month) AS (
    SELECT month FROM first_month WHERE month IS NOT NULL
    UNION ALL
    SELECT month + INTERVAL '1 month'
    FROM months
    WHERE month < date_trunc('month', CAST($end AS TIMESTAMP))
),
counted AS (
    SELECT CAST(date_trunc('month', received_at) AS TIMESTAMP) AS month, count(*) AS n
    FROM f_complaints
    GROUP BY 1
),
series AS (
    SELECT m.month, coalesce(c.n, 0) AS complaints
    FROM months AS m
    LEFT JOIN counted AS c ON c.month = m.month
)
SELECT
    CAST(s.month AS DATE) AS month,
    s.complaints,
    p.complaints AS last_year,
    CAST(s.complaints - p.complaints AS DOUBLE) / NULLIF(p.complaints, 0) AS change
FROM series AS s
LEFT JOIN series AS p ON p.month = s.month - INTERVAL '1 year'
WHERE s.month >= date_trunc('month', CAST($start AS TIMESTAMP))
ORDER BY s.month
