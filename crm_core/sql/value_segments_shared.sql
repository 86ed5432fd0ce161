-- DuckDB only: value_segments.sql (same grain and columns) read from the shared value window
-- $window_id (crm_core/facts.py) instead of the order lines.
WITH
-- @include value_window_table
-- @include value_segments_body
