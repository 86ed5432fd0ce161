-- Grain: one row: the stored results of the current data and code version and their size.
SELECT count(*) AS results, coalesce(sum(payload_bytes), 0) AS payload_bytes
FROM result_store
WHERE data_version = $data_version AND code_version = $code_version
