-- Fragment, DuckDB only: a window read for its tiers alone (as _value_rf_scores_none.sql) keeps
-- the figures its tiers are ranked by, net revenue and profit; the others are NULL, whichever
-- v_history computed them (_value_history_days_tiers.sql does not). Types as
-- _value_window_figures.sql's.
coalesce(h.revenue, 0) AS revenue,
CAST(NULL AS DECIMAL(38, 4)) AS gross_revenue,
CAST(NULL AS DECIMAL(38, 4)) AS returns_amount,
coalesce(h.profit, 0) AS profit,
CAST(NULL AS BIGINT) AS orders,
CAST(NULL AS DATE) AS last_order_date,
CAST(NULL AS BIGINT) AS recency_days
