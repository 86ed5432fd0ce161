-- DuckDB only. Grain: one row: the catalog read (a meeting snapshot is a catalog of its own) and
-- the data version (as data_version.sql): the key under which a shared window stays valid.
SELECT
    current_database() AS catalog_name,
    count(*) AS load_files,
    coalesce(max(load_id), 0) AS last_load_id,
    coalesce(sum(load_id) FILTER (WHERE status = 'loaded'), 0) AS live_load_ids
FROM load_history
