-- DuckDB only: pipeline_overdue_top.sql (same grain, columns and order) with its contacts per
-- lead read from the shared contact counts $contacts_id (crm_core/engine/facts.py), through the
-- slot SHARED_CONTACT_COUNTS.
WITH
-- @include pipeline_lead_rows
-- @include pipeline_overdue_top_body
