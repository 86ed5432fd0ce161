-- Grain: one row per lead grade (as written; no grade = '–') of the filtered leads created by
-- $as_of: leads, leads never contacted, the required contact interval, the median actual one,
-- the share of contacted leads on cadence (actual <= required) and the median hours from
-- creation to the first contact.
WITH
-- @include pipeline_lead_rows
-- @include pipeline_cadence_body
