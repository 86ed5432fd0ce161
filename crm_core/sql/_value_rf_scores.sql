-- Fragment, DuckDB only: R and F of _value_window_base.sql's RFM scores for a buyer `a`,
-- quintiles over a total order: among equal values the lower customer_id scores higher.
ntile(5) OVER (ORDER BY a.recency_days DESC, a.customer_id DESC) AS r_score,
ntile(5) OVER (ORDER BY a.orders, a.customer_id DESC) AS f_score
