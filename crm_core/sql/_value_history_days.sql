-- Fragment: `v_history` of _value_base.sql (as _value_history.sql computes it from the order
-- lines) added up from the fact layer's days: a window starts and ends on day boundaries, so the
-- days before its end hold exactly its lines; the days' distinct orders add up to the window's
-- where order_proofs.orders_one_day holds (crm_core/engine/facts.py reads it only then).
-- @include f_days
,
v_history AS (
    SELECT
        w.w,
        d.customer_id,
        CAST(coalesce(sum(d.orders) FILTER (WHERE d.line_date >= w.start_date), 0) AS BIGINT)
            AS orders,
        coalesce(sum(d.net_amount) FILTER (WHERE d.line_date >= w.start_date), 0) AS revenue,
        coalesce(sum(d.gross_amount) FILTER (WHERE d.line_date >= w.start_date), 0)
            AS gross_revenue,
        coalesce(sum(d.returns_amount) FILTER (WHERE d.line_date >= w.start_date), 0)
            AS returns_amount,
        coalesce(sum(d.profit) FILTER (WHERE d.line_date >= w.start_date), 0) AS profit,
        max(d.has_bought) AS has_bought,
        max(CASE WHEN d.sale_lines > 0 THEN d.line_date END) AS last_order_date,
        w.as_of - max(CASE WHEN d.sale_lines > 0 THEN d.line_date END) AS recency_days
    FROM windows AS w
    INNER JOIN f_days AS d ON d.line_date < w.end_excl
    GROUP BY w.w, w.as_of, d.customer_id
)
