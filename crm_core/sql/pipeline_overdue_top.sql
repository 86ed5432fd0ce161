-- Grain: pipeline_overdue_leads.sql's leads that are still open at $as_of, at most $limit of
-- them: the longest overdue first (ties: by owner, no owner last, then lead id). A lead is
-- still open when it closed after $as_of or its (stage, outcome) is one of $open_pairs, which
-- pipeline.py classifies from the data's stage vocabulary (chr(31)-delimited keys of
-- stage || chr(29) || outcome, chr(30) for a missing value). list_rank is the row's place in
-- pipeline_overdue_leads.sql's order (by owner, longest overdue first), among these rows.
WITH
-- @include pipeline_lead_rows
-- @include pipeline_overdue_top_body
