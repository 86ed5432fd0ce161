-- Fragment, DuckDB only: `value_customers` of _value_base.sql (same rules, columns and types)
-- for the single window of _value_window.sql, as the shared value window computes it
-- (crm_core/engine/facts.py). The rules are _value_base.sql's (docs/metrics.md, "Value
-- pyramid"); tests/test_facts.py compares every report read from these rows with the same
-- report computed by _value_base.sql. Cheaper because there is one window: no PARTITION BY, the
-- buyers' count, sums and tier cuts computed once instead of on every row, the known customers
-- joined rather than deduplicated by UNION, and, ranked by revenue, M read from the value rank
-- (_value_m_score_rank.sql) instead of sorted again.
-- @include f_customers
,
-- @include value_history
,
v_totals AS (
    -- One row: the buyers n (net revenue > 0 in the window), their sums (for RFM high / low),
    -- each tier's last rank, and ntile(5)'s bucket size and number of larger buckets over n rows.
    SELECT
        n_active,
        recency_sum,
        orders_sum,
        revenue_sum,
        ceil(CAST($cut_1 AS DECIMAL(9, 6)) * n_active) AS last_1,
        ceil(CAST($cut_2 AS DECIMAL(9, 6)) * n_active) AS last_2,
        ceil(CAST($cut_3 AS DECIMAL(9, 6)) * n_active) AS last_3,
        n_active // nullif(least(5, n_active), 0) AS tile_size,
        n_active % nullif(least(5, n_active), 0) AS tile_large
    FROM (
        SELECT
            count(*) AS n_active,
            sum(recency_days) AS recency_sum,
            sum(orders) AS orders_sum,
            sum(revenue) AS revenue_sum
        FROM v_history
        WHERE revenue > 0
    ) AS s
),
v_ranked AS (
    -- Every customer with a line before the window's end; the buyers in the window (net revenue
    -- > 0) ranked among themselves by the chosen measure (ties go to the lower customer_id) and
    -- quintiled over a total order (among equal values the lower customer_id scores higher).
    SELECT
        h.*,
        row_number() OVER (
            PARTITION BY h.active ORDER BY h.measure_value DESC, h.customer_id
        ) AS rank_among,
        -- @include value_rf_scores
    FROM (
        SELECT
            v_history.*,
            revenue > 0 AS active,
            CASE WHEN CAST($measure AS VARCHAR) = 'profit' THEN profit ELSE revenue END
                AS measure_value
        FROM v_history
    ) AS h
),
v_scored AS (
    SELECT
        a.*,
        CASE WHEN a.active THEN a.rank_among END AS value_rank,
        CASE
            WHEN NOT a.active THEN NULL
            WHEN a.rank_among <= t.last_1 THEN 1
            WHEN a.rank_among <= t.last_2 THEN 2
            WHEN a.rank_among <= t.last_3 THEN 3
            ELSE 4
        END AS buyer_tier,
        CASE WHEN a.active THEN a.r_among END AS r_score,
        CASE WHEN a.active THEN a.f_among END AS f_score,
        CASE WHEN a.active THEN
            -- @include value_m_score
        END AS m_score,
        CASE WHEN a.active THEN
            CASE WHEN a.recency_days * t.n_active < t.recency_sum THEN 'H' ELSE 'L' END
            || CASE WHEN a.orders * t.n_active > t.orders_sum THEN 'H' ELSE 'L' END
            || CASE WHEN a.revenue * t.n_active > t.revenue_sum THEN 'H' ELSE 'L' END
        END AS rfm_code
    FROM v_ranked AS a
    CROSS JOIN v_totals AS t
),
v_known AS (
    -- Customers created before the window's end (passing the filters), and every customer
    -- with a line before it.
    SELECT c.customer_id
    FROM f_customers AS c
    WHERE c.created_at IS NULL OR c.created_at < (SELECT end_excl FROM windows)
),
value_customers AS (
    SELECT
        1 AS w,
        coalesce(k.customer_id, h.customer_id) AS customer_id,
        c.name,
        c.owner,
        c.region,
        c.source,
        c.segment AS customer_type,
        CASE
            WHEN h.buyer_tier IS NOT NULL THEN h.buyer_tier
            WHEN h.has_bought = 1 THEN 5
            ELSE 6
        END AS tier_no,
        h.value_rank,
        coalesce(h.revenue, 0) AS revenue,
        coalesce(h.gross_revenue, 0) AS gross_revenue,
        coalesce(h.returns_amount, 0) AS returns_amount,
        coalesce(h.profit, 0) AS profit,
        coalesce(h.orders, 0) AS orders,
        h.last_order_date,
        h.recency_days,
        h.r_score,
        h.f_score,
        h.m_score,
        h.rfm_code
    FROM v_known AS k
    FULL OUTER JOIN v_scored AS h ON h.customer_id = k.customer_id
    LEFT JOIN customers AS c ON c.customer_id = coalesce(k.customer_id, h.customer_id)
)
