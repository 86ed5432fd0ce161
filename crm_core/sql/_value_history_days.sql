-- Fragment: `v_history` of _value_window_base.sql (as _value_history.sql computes it from the
-- order lines, for the one window of _value_window.sql) added up from the fact layer's days: a
-- window starts and ends on day boundaries, so the days before its end hold exactly its lines;
-- the days' distinct orders add up to the window's where order_proofs.orders_one_day holds
-- (crm_core/engine/facts.py reads it only then). Grouped by customer alone: one window.
-- @include f_days
,
v_history AS (
    SELECT
        d.customer_id,
        CAST(
            coalesce(sum(d.orders) FILTER (WHERE d.line_date >= CAST($start AS DATE)), 0)
            AS BIGINT
        ) AS orders,
        coalesce(sum(d.net_amount) FILTER (WHERE d.line_date >= CAST($start AS DATE)), 0)
            AS revenue,
        coalesce(sum(d.gross_amount) FILTER (WHERE d.line_date >= CAST($start AS DATE)), 0)
            AS gross_revenue,
        coalesce(sum(d.returns_amount) FILTER (WHERE d.line_date >= CAST($start AS DATE)), 0)
            AS returns_amount,
        coalesce(sum(d.profit) FILTER (WHERE d.line_date >= CAST($start AS DATE)), 0) AS profit,
        max(d.has_bought) AS has_bought,
        max(CASE WHEN d.sale_lines > 0 THEN d.line_date END) AS last_order_date,
        CAST($as_of AS DATE) - max(CASE WHEN d.sale_lines > 0 THEN d.line_date END)
            AS recency_days
    FROM f_days AS d
    WHERE d.line_date < CAST($end_excl AS DATE)
    GROUP BY d.customer_id
)
