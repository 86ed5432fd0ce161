-- DuckDB only. Grain: one row: whether the fact layer's customer_days in the catalog read has
-- the sale_orders column (a meeting snapshot frozen before it was added has not; the reports
-- then count orders over the order lines).
SELECT count(*) AS has_column
FROM duckdb_columns()
WHERE database_name = current_database()
  AND schema_name = current_schema()
  AND table_name = 'customer_days'
  AND column_name = 'sale_orders'
