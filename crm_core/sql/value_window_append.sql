-- DuckDB only: one more shared value window (crm_core/facts.py) beside those already held.
-- Grain: one row per customer known as of the window's as-of date.
INSERT INTO value_window_rows
-- @include value_window_select
