-- Fragment, DuckDB only: no RFM code in _value_window_base.sql (a window read for its tiers alone,
-- as _value_rf_scores_none.sql).
CAST(NULL AS VARCHAR) AS rfm_code
