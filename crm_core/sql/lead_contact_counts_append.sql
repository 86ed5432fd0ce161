-- DuckDB only: one more shared contact-counts window beside those held.
-- Grain: one row per (window, lead named by an interaction by its as-of day).
INSERT INTO lead_contact_counts_rows
-- @include lead_contact_counts_select
