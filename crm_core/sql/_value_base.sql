-- Fragment: one row per (window w, customer known by the window's as-of date) in
-- `value_customers`: value tier (tier_no 1-4 active tiers, 5 sleeping, 6 prospect), window
-- net revenue (sales minus returns, on each line's own date) with its gross and returns parts,
-- profit, orders, recency, and for buyers in the window (net revenue > 0) the RFM scores and the
-- 8-segment code (R, F, M each 'H' or 'L'). The including query defines
-- `windows (w, start_date, end_excl, as_of)` first. Rules: docs/metrics.md, "Value pyramid".
-- @include f_customers
,
-- @include value_history
,
v_active AS (
    -- Buyers in the window (net revenue > 0), ranked by the chosen measure; ties go to the
    -- lower customer_id.
    SELECT
        h.*,
        row_number() OVER (PARTITION BY h.w ORDER BY h.measure_value DESC, h.customer_id)
            AS value_rank,
        count(*) OVER (PARTITION BY h.w) AS n_active
    FROM (
        SELECT
            v_history.*,
            CASE WHEN CAST($measure AS VARCHAR) = 'profit' THEN profit ELSE revenue END
                AS measure_value
        FROM v_history
        WHERE revenue > 0
    ) AS h
),
v_scored AS (
    SELECT
        a.w,
        a.customer_id,
        a.value_rank,
        -- Tier k holds ranks (ceil(cut_(k-1) * n), ceil(cut_k * n)]; exact decimal arithmetic.
        CASE
            WHEN a.value_rank <= ceil(CAST($cut_1 AS DECIMAL(9, 6)) * a.n_active) THEN 1
            WHEN a.value_rank <= ceil(CAST($cut_2 AS DECIMAL(9, 6)) * a.n_active) THEN 2
            WHEN a.value_rank <= ceil(CAST($cut_3 AS DECIMAL(9, 6)) * a.n_active) THEN 3
            ELSE 4
        END AS tier_no,
        -- Quintiles over a total order: among equal values the lower customer_id scores higher.
        ntile(5) OVER (PARTITION BY a.w ORDER BY a.recency_days DESC, a.customer_id DESC)
            AS r_score,
        ntile(5) OVER (PARTITION BY a.w ORDER BY a.orders, a.customer_id DESC) AS f_score,
        ntile(5) OVER (PARTITION BY a.w ORDER BY a.revenue, a.customer_id DESC) AS m_score,
        -- High / low against the mean, compared as x * n vs sum(x) so that it stays exact:
        -- R is high when recency is strictly below the mean; F and M strictly above it.
        CASE
            WHEN a.recency_days * a.n_active < sum(a.recency_days) OVER (PARTITION BY a.w)
                THEN 'H' ELSE 'L'
        END
        || CASE
            WHEN a.orders * a.n_active > sum(a.orders) OVER (PARTITION BY a.w) THEN 'H' ELSE 'L'
        END
        || CASE
            WHEN a.revenue * a.n_active > sum(a.revenue) OVER (PARTITION BY a.w) THEN 'H' ELSE 'L'
        END AS rfm_code
    FROM v_active AS a
),
v_known AS (
    SELECT w.w, c.customer_id
    FROM windows AS w
    INNER JOIN f_customers AS c ON c.created_at IS NULL OR c.created_at < w.end_excl
    UNION
    SELECT w, customer_id FROM v_history
),
value_customers AS (
    SELECT
        k.w,
        k.customer_id,
        c.name,
        c.owner,
        c.region,
        c.source,
        c.segment AS customer_type,
        CASE
            WHEN s.tier_no IS NOT NULL THEN s.tier_no
            WHEN h.has_bought = 1 THEN 5
            ELSE 6
        END AS tier_no,
        s.value_rank,
        -- @include value_window_figures
        ,
        s.r_score,
        s.f_score,
        s.m_score,
        s.rfm_code
    FROM v_known AS k
    LEFT JOIN v_history AS h ON h.w = k.w AND h.customer_id = k.customer_id
    LEFT JOIN v_scored AS s ON s.w = k.w AND s.customer_id = k.customer_id
    LEFT JOIN customers AS c ON c.customer_id = k.customer_id
)
