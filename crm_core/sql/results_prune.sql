-- Stored results of any other data or code version than the current one never answer again:
-- deleted after a load (crm_core/app/results.py).
DELETE FROM result_store
WHERE data_version <> $data_version OR code_version <> $code_version
