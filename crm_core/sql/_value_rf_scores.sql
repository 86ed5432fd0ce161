-- Fragment, DuckDB only: R and F of _value_window_base.sql's RFM scores among the buyers `h`
-- (`active`), quintiles over a total order: among equal values the lower customer_id scores
-- higher.
ntile(5) OVER (PARTITION BY h.active ORDER BY h.recency_days DESC, h.customer_id DESC)
    AS r_among,
ntile(5) OVER (PARTITION BY h.active ORDER BY h.orders, h.customer_id DESC) AS f_among
