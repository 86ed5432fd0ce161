-- Fragment, DuckDB only: `v_history` of _value_window_base.sql for a window read for its tiers
-- alone (the migration's earlier window: crm_core/engine/facts.py swaps it in then), from the
-- fact layer's days: _value_history_days.sql's rows, net revenue, profit and has_bought, which
-- rank the buyers and tier the others; not the orders, gross, returns or last order that such a
-- window does not keep (_value_window_figures_none.sql), a third of the pass.
-- @include f_days
,
v_history AS (
    SELECT
        d.customer_id,
        CAST(NULL AS BIGINT) AS orders,
        coalesce(sum(d.net_amount) FILTER (WHERE d.line_date >= CAST($start AS DATE)), 0)
            AS revenue,
        CAST(NULL AS DECIMAL(38, 4)) AS gross_revenue,
        CAST(NULL AS DECIMAL(38, 4)) AS returns_amount,
        coalesce(sum(d.profit) FILTER (WHERE d.line_date >= CAST($start AS DATE)), 0) AS profit,
        max(d.has_bought) AS has_bought,
        CAST(NULL AS DATE) AS last_order_date,
        CAST(NULL AS BIGINT) AS recency_days
    FROM f_days AS d
    WHERE d.line_date < CAST($end_excl AS DATE)
    GROUP BY d.customer_id
)
