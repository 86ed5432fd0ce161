-- Grain: one row, the number of stored results of every version.
SELECT count(*) AS results FROM result_store
