-- Grain: one row per complaint category over the complaints received in [$start, $end_excl),
-- largest first: complaints, share, cumulative share, and whether the category belongs to the
-- smallest set of top categories that reaches $share of all complaints (the "vital few": every
-- category whose predecessors together stay below the share).
WITH
-- @include f_complaints
,
counted AS (
    SELECT category, count(*) AS complaints
    FROM f_complaints
    WHERE received_at >= $start AND received_at < $end_excl
    GROUP BY category
),
cumulated AS (
    SELECT
        category,
        complaints,
        CAST(complaints AS DOUBLE) / sum(complaints) OVER () AS share,
        CAST(sum(complaints) OVER (ORDER BY complaints DESC, category ROWS UNBOUNDED PRECEDING)
            AS DOUBLE) / sum(complaints) OVER () AS cumulative_share
    FROM counted
)
SELECT
    category,
    complaints,
    share,
    cumulative_share,
    cumulative_share - share < $share AS vital_few
FROM cumulated
ORDER BY complaints DESC, category
