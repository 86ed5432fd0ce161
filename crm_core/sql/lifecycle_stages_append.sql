-- DuckDB only: one more shared lifecycle-stages window beside those held.
-- Grain: one row per (window, customer known by its as-of day).
INSERT INTO lifecycle_stages_rows
-- @include lifecycle_stages_select
