-- Grain: one row per filtered lead created by $as_of with its contacts up to $as_of and its
-- required and actual contact interval (see _pipeline_lead_rows.sql).
WITH
-- @include pipeline_lead_rows
-- @include pipeline_lead_contacts_body
