-- Fragment, DuckDB only: no R and F scores in _value_window_base.sql (a window read for its tiers
-- alone, as the migration's earlier window: crm_core/engine/facts.py swaps it in then).
CAST(NULL AS BIGINT) AS r_score,
CAST(NULL AS BIGINT) AS f_score
