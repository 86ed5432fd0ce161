-- Grain: one row per filtered lead created by $as_of, not closed by then and overdue for a
-- contact, by owner and longest overdue first (pipeline.py drops those at a won / lost stage).
WITH
-- @include pipeline_lead_rows
-- @include pipeline_overdue_leads_body
