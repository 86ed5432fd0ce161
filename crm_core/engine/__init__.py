"""The engine: where the data lives and how crm_core reaches it. The bottom layer.

It owns:
- connections and the query facade (db: `connect`, `query`, `query_rows`, `scalar`, `sql`,
  the `Connection` type), with the named SQL files of crm_core/sql (sqlfiles);
- the three databases: embedded DuckDB (the default, in db), PostgreSQL (postgres) and Spark SQL
  (sparkdb), behind one `Remote` handle (backends), and secrets kept out of their messages
  (redact);
- SQL dialect translation of the DuckDB-flavoured SQL for PostgreSQL and Spark (dialects,
  sqlglot, loaded by the server backends only);
- the table catalogue (schema) and the tables of a database: book-keeping tables, creating what
  is missing (tables), the summary tables rebuilt by every load (summaries);
- the fact layer and its SQL: per-customer windows shared by reports (facts);
- settings: paths and tunables overridable by environment variables (config).

It imports nothing else of crm_core: ingest, metrics, present, app and the CLI build on it.
"""
