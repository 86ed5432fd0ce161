-- DuckDB only: the connection's shared value windows (crm_core/facts.py) start afresh with one
-- window. Grain: one row per customer known as of the window's as-of date.
CREATE OR REPLACE TEMP TABLE value_window_rows AS
-- @include value_window_select
