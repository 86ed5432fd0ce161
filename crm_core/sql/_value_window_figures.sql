-- Fragment: a customer's figures in the value_customers of _value_base.sql and
-- _value_window_base.sql, from its v_history row `h` (0 for a known customer without a line
-- before the window's end).
coalesce(h.revenue, 0) AS revenue,
coalesce(h.gross_revenue, 0) AS gross_revenue,
coalesce(h.returns_amount, 0) AS returns_amount,
coalesce(h.profit, 0) AS profit,
coalesce(h.orders, 0) AS orders,
h.last_order_date,
h.recency_days
