-- DuckDB only. Grain: one row: how many of the fact layer's tables the catalog read holds (a
-- meeting snapshot made before the fact layer has none; crm_core/engine/facts.py then reads the
-- order lines).
SELECT count(*) AS tables
FROM duckdb_tables()
WHERE database_name = current_database()
  AND schema_name = current_schema()
  AND table_name IN ('order_proofs', 'order_days', 'customer_days')
