-- DuckDB only: the results a warm stored in its working copy (crm_core/app/warm.py, attached
-- as crm_lens_warm), added to this database's store.
INSERT INTO result_store
SELECT * FROM crm_lens_warm.result_store
