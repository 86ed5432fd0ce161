-- Grain: one row per file of every load, newest load first.
SELECT
    load_id,
    file_name,
    table_name,
    mode,
    rows_read,
    rows_loaded,
    rows_rejected,
    encoding,
    started_at,
    finished_at,
    status,
    undo_kind IN ('replaced', 'upserted') AND status = 'loaded' AS can_roll_back,
    sha256,
    warnings
FROM load_history
ORDER BY load_id DESC, file_name
