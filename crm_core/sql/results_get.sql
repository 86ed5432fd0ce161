-- Grain: the newest stored result of one call (crm_core/app/results.py) for this data and
-- code version; no row when the store does not hold it.
SELECT payload
FROM result_store
WHERE data_version = $data_version AND code_version = $code_version AND call = $call
ORDER BY stored_at DESC
LIMIT 1
