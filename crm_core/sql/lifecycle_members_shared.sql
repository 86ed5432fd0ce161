-- DuckDB only: lifecycle_members.sql (same grain and columns) read from the shared lifecycle
-- stages $stages_id (crm_core/engine/facts.py).
WITH lifecycle AS (
    SELECT * FROM lifecycle_stages_rows WHERE window_id = $stages_id
)
-- @include lifecycle_members_body
