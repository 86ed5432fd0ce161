-- Fragment, DuckDB only: no M score in _value_window_base.sql (a window read for its tiers alone,
-- as _value_rf_scores_none.sql).
CAST(NULL AS BIGINT)
