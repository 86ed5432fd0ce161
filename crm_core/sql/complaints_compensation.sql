-- Grain: one row per complaint category over the complaints received in [$start, $end_excl):
-- complaints, those with compensation paid (> 0), the total paid, the mean per compensated
-- complaint and the category's share of all compensation paid.
WITH
-- @include f_complaints
,
period AS (
    SELECT category, compensation
    FROM f_complaints
    WHERE received_at >= $start AND received_at < $end_excl
),
counted AS (
    SELECT
        category,
        count(*) AS complaints,
        count(CASE WHEN compensation > 0 THEN 1 END) AS compensated,
        coalesce(sum(CASE WHEN compensation > 0 THEN compensation END), 0) AS paid
    FROM period
    GROUP BY category
)
SELECT
    category,
    complaints,
    compensated,
    paid,
    paid / NULLIF(compensated, 0) AS mean_paid,
    CAST(paid AS DOUBLE) / NULLIF(sum(paid) OVER (), 0) AS share_of_paid
FROM counted
ORDER BY paid DESC, complaints DESC, category
