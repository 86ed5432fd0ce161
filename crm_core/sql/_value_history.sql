-- Fragment: `v_history` of _value_base.sql (and of _value_window_base.sql) from the order
-- lines: one row per (window w, customer with a line before the window's end) with the window's
-- orders, net revenue, gross, returns, profit, and has_bought / last_order_date / recency_days
-- up to its as-of date.
-- _value_history_days.sql computes the same from the fact layer.
-- @include f_orders
,
v_history AS (
    -- Lines up to each as-of date; the window columns count [start_date, end_excl) only.
    SELECT
        w.w,
        o.customer_id,
        -- Orders: distinct non-return orders with a line of positive amount in the window.
        -- CASE, not FILTER: DuckDB runs a filtered distinct aggregate much slower.
        count(DISTINCT CASE
            WHEN o.order_date >= w.start_date AND NOT o.is_return AND o.amount > 0
                THEN o.order_id
        END) AS orders,
        coalesce(sum(o.net_amount) FILTER (WHERE o.order_date >= w.start_date), 0) AS revenue,
        coalesce(
            sum(o.amount) FILTER (WHERE o.order_date >= w.start_date AND NOT o.is_return), 0
        ) AS gross_revenue,
        coalesce(
            sum(-o.net_amount) FILTER (WHERE o.order_date >= w.start_date AND o.is_return), 0
        ) AS returns_amount,
        -- Profit counts lines whose cost is known (a line without cost adds nothing); a return
        -- takes its margin back: -(|amount| - |cost|).
        coalesce(
            sum(
                CASE
                    WHEN o.is_return THEN -(abs(o.amount) - abs(o.cost))
                    ELSE o.amount - o.cost
                END
            ) FILTER (WHERE o.order_date >= w.start_date AND o.cost IS NOT NULL),
            0
        ) AS profit,
        -- Bought = some sale line of positive amount up to the as-of date (else a prospect).
        max(CASE WHEN NOT o.is_return AND o.amount > 0 THEN 1 ELSE 0 END) AS has_bought,
        CAST(max(CASE WHEN NOT o.is_return THEN o.order_date END) AS DATE) AS last_order_date,
        w.as_of - CAST(max(CASE WHEN NOT o.is_return THEN o.order_date END) AS DATE)
            AS recency_days
    FROM windows AS w
    INNER JOIN f_lines AS o ON o.order_date < w.end_excl
    GROUP BY w.w, w.as_of, o.customer_id
)
