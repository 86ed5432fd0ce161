-- Grain: one row per (owner, stage, outcome, closed later) of the filtered leads created by
-- $as_of and not closed by then: leads, leads overdue for a contact (days since the last contact,
-- or creation, above the grade's interval) and the largest days overdue. Whether a (stage,
-- outcome) is still open depends on the data's stage vocabulary, so pipeline.py decides that.
WITH
-- @include pipeline_lead_rows
-- @include pipeline_overdue_groups_body
