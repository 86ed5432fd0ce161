-- Fragment, DuckDB only: `value_customers` of _value_base.sql (same rules, columns and types)
-- for the single window of _value_window.sql, as the shared value window computes it
-- (crm_core/engine/facts.py). The rules are _value_base.sql's (docs/metrics.md, "Value
-- pyramid"); tests/test_facts.py compares every report read from these rows with the same
-- report computed by _value_base.sql. Cheaper because there is one window: grouped by customer
-- alone, no PARTITION BY, the buyers' count, sums and tier cuts computed once instead of on every
-- row, the known customers joined rather than deduplicated by UNION (the customers table read
-- once, for the known set and the attributes alike), and, ranked by revenue, M read from the
-- value rank (_value_m_score_rank.sql) instead of sorted again. Only the buyers are sorted, with
-- the few columns their scores need; a window read for its tiers alone keeps no attributes.
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
v_active AS (
    -- Buyers in the window, ranked by the chosen measure; ties go to the lower customer_id.
    SELECT
        h.customer_id,
        h.orders,
        h.revenue,
        h.recency_days,
        row_number() OVER (ORDER BY h.measure_value DESC, h.customer_id) AS value_rank
    FROM (
        SELECT
            customer_id,
            orders,
            revenue,
            recency_days,
            CASE WHEN CAST($measure AS VARCHAR) = 'profit' THEN profit ELSE revenue END
                AS measure_value
        FROM v_history
        WHERE revenue > 0
    ) AS h
),
v_r_groups AS (
    -- The buyers' recencies in R's order (recency descending): each one's first place (0-based)
    -- and whether its places fall in two quintiles or more (`split`, where the order among its
    -- buyers, customer_id descending, decides their R). A few hundred rows.
    SELECT
        g.recency_days,
        g.first_p,
        CASE
            WHEN g.first_p < t.tile_large * (t.tile_size + 1)
                THEN g.first_p // (t.tile_size + 1)
            ELSE t.tile_large + (g.first_p - t.tile_large * (t.tile_size + 1)) // t.tile_size
        END
        <> CASE
            WHEN g.last_p < t.tile_large * (t.tile_size + 1)
                THEN g.last_p // (t.tile_size + 1)
            ELSE t.tile_large + (g.last_p - t.tile_large * (t.tile_size + 1)) // t.tile_size
        END AS split
    FROM (
        SELECT
            recency_days,
            CAST(
                sum(count(*)) OVER (
                    ORDER BY recency_days DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                ) - count(*) AS BIGINT
            ) AS first_p,
            CAST(
                sum(count(*)) OVER (
                    ORDER BY recency_days DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                ) - 1 AS BIGINT
            ) AS last_p
        FROM v_active
        GROUP BY recency_days
    ) AS g
    CROSS JOIN v_totals AS t
),
v_r_edges AS (
    -- The place of each buyer whose recency is split: only these buyers are sorted for R.
    SELECT
        a.customer_id,
        g.first_p
        + row_number() OVER (PARTITION BY a.recency_days ORDER BY a.customer_id DESC) - 1 AS p
    FROM v_active AS a
    INNER JOIN v_r_groups AS g ON g.recency_days IS NOT DISTINCT FROM a.recency_days
    WHERE g.split
),
v_scored AS (
    SELECT
        a.customer_id,
        a.value_rank,
        CASE
            WHEN a.value_rank <= t.last_1 THEN 1
            WHEN a.value_rank <= t.last_2 THEN 2
            WHEN a.value_rank <= t.last_3 THEN 3
            ELSE 4
        END AS tier_no,
        -- @include value_rf_scores
        ,
        -- @include value_m_score
        AS m_score,
        -- @include value_rfm_code
    FROM v_active AS a
    CROSS JOIN v_totals AS t
    -- @include value_rf_joins
),
value_customers AS (
    -- Known customers: those created before the window's end (passing the filters) and every
    -- customer with a line before it. f_customers is read once, for both: a customer with a
    -- line passes the filters (f_days keeps no other), so its row there is its customers row.
    SELECT
        1 AS w,
        coalesce(c.customer_id, h.customer_id) AS customer_id,
        -- @include value_window_attributes
        ,
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
    FROM f_customers AS c
    FULL OUTER JOIN v_history AS h ON h.customer_id = c.customer_id
    LEFT JOIN v_scored AS s ON s.customer_id = h.customer_id
    WHERE h.customer_id IS NOT NULL
       OR c.created_at IS NULL
       OR c.created_at < (SELECT end_excl FROM windows)
)
