-- Grain: one row per spike fortnight overlapping [$start, $end] (category NULL: the total) plus
-- one row per category that rose above its own baseline in it.
-- Rule (docs/metrics.md): weekly counts (Monday weeks, zero-filled) of the total and of each
-- category are summed over fortnights (a week and the week before) and put on the square-root
-- scale a = 2 * sqrt(x + 3/8), where counts have a spread of about 1 whatever their size. A
-- series is flagged when its fortnight count >= $min_count and its robust z-score
-- (a - median) / max($mad_scale * MAD, 1) over the $windows fortnights that end before this one
-- starts exceeds $z. A fortnight is a spike when the total or any category is flagged; each
-- category's excess = its count - the median of its own baseline counts.
WITH RECURSIVE
-- @include f_complaints
,
bounds AS (
    SELECT
        CAST(date_trunc('week', min(received_at)) AS TIMESTAMP) AS first_week,
        CAST(date_trunc('week', max(received_at)) AS TIMESTAMP) AS last_week
    FROM f_complaints
),
weeks (week) AS (
    SELECT first_week FROM bounds WHERE first_week IS NOT NULL
    UNION ALL
    SELECT week + INTERVAL '7 days' FROM weeks WHERE week < (SELECT last_week FROM bounds)
),
numbered AS (
    SELECT week, row_number() OVER (ORDER BY week) AS wn FROM weeks
),
categories AS (
    SELECT DISTINCT category FROM f_complaints
),
counted AS (
    SELECT CAST(date_trunc('week', received_at) AS TIMESTAMP) AS week, category, count(*) AS n
    FROM f_complaints
    GROUP BY 1, 2
),
series AS (
    SELECT
        w.wn,
        w.week,
        CAST(NULL AS VARCHAR) AS category,
        CAST(coalesce(sum(c.n), 0) AS BIGINT) AS n
    FROM numbered AS w
    LEFT JOIN counted AS c ON c.week = w.week
    GROUP BY w.wn, w.week
    UNION ALL
    SELECT w.wn, w.week, k.category, coalesce(c.n, 0) AS n
    FROM numbered AS w
    CROSS JOIN categories AS k
    LEFT JOIN counted AS c ON c.week = w.week AND c.category = k.category
),
fortnights AS (
    SELECT
        s.wn,
        p.week AS first_week,
        s.category,
        p.n + s.n AS x,
        2 * sqrt(p.n + s.n + 0.375) AS a
    FROM series AS s
    JOIN series AS p ON p.category IS NOT DISTINCT FROM s.category AND p.wn = s.wn - 1
),
baseline AS (
    SELECT
        f.wn,
        f.category,
        count(*) AS windows,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY b.a) AS median_a,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY b.x) AS median_x
    FROM fortnights AS f
    JOIN fortnights AS b
        ON b.category IS NOT DISTINCT FROM f.category
       AND b.wn BETWEEN f.wn - 1 - $windows AND f.wn - 2
    GROUP BY f.wn, f.category
),
spread AS (
    SELECT
        d.wn,
        d.category,
        d.windows,
        d.median_a,
        d.median_x,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(b.a - d.median_a)) AS mad_a
    FROM baseline AS d
    JOIN fortnights AS b
        ON b.category IS NOT DISTINCT FROM d.category
       AND b.wn BETWEEN d.wn - 1 - $windows AND d.wn - 2
    GROUP BY d.wn, d.category, d.windows, d.median_a, d.median_x
),
scored AS (
    SELECT
        f.wn,
        f.first_week,
        f.category,
        f.x,
        d.median_x,
        (f.a - d.median_a) / greatest($mad_scale * d.mad_a, 1) AS z,
        f.x >= $min_count AND (f.a - d.median_a) / greatest($mad_scale * d.mad_a, 1) > $z
            AS flagged
    FROM fortnights AS f
    JOIN spread AS d ON d.wn = f.wn AND d.category IS NOT DISTINCT FROM f.category
    WHERE d.windows = $windows
),
spikes AS (
    SELECT wn
    FROM scored
    WHERE first_week + INTERVAL '13 days' >= CAST($start AS TIMESTAMP)
      AND first_week <= CAST($end AS TIMESTAMP)
    GROUP BY wn
    HAVING count(CASE WHEN flagged THEN 1 END) > 0
)
SELECT
    CAST(first_week AS DATE) AS start_date,
    CAST(first_week + INTERVAL '13 days' AS DATE) AS end_date,
    category,
    x AS complaints,
    median_x AS baseline,
    z,
    flagged,
    x - median_x AS excess
FROM scored
WHERE wn IN (SELECT wn FROM spikes)
  AND (category IS NULL OR x > median_x OR flagged)
ORDER BY start_date, category IS NOT NULL, excess DESC, category
