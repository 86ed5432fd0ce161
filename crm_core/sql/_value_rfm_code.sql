-- Fragment, DuckDB only: a buyer `a`'s RFM code in _value_window_base.sql: H or L for recency,
-- frequency and monetary against the buyers' means in `t` (v_totals), as _value_base.sql.
CASE WHEN a.recency_days * t.n_active < t.recency_sum THEN 'H' ELSE 'L' END
|| CASE WHEN a.orders * t.n_active > t.orders_sum THEN 'H' ELSE 'L' END
|| CASE WHEN a.revenue * t.n_active > t.revenue_sum THEN 'H' ELSE 'L' END AS rfm_code
