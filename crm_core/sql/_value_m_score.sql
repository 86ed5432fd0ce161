-- Fragment, DuckDB only: M of _value_window_base.sql's RFM scores for a buyer `a`, the quintile
-- of window net revenue among the buyers over a total order (among equal values the lower
-- customer_id scores higher).
ntile(5) OVER (ORDER BY a.revenue, a.customer_id DESC)
