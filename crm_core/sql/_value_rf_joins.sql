-- Fragment, DuckDB only: what _value_rf_scores.sql reads for a buyer `a` of
-- _value_window_base.sql: its recency's first place and, in a split recency, its own place.
INNER JOIN v_r_groups AS rg ON rg.recency_days IS NOT DISTINCT FROM a.recency_days
LEFT JOIN v_r_edges AS re ON re.customer_id = a.customer_id
