-- Fragment, DuckDB only: no customer attributes in _value_window_base.sql (a window read for its
-- tiers alone, as _value_rf_scores_none.sql: only value_migration_shared reads it, for customer
-- ids, tiers and revenue). Their types are the customers table's.
CAST(NULL AS VARCHAR) AS name,
CAST(NULL AS VARCHAR) AS owner,
CAST(NULL AS VARCHAR) AS region,
CAST(NULL AS VARCHAR) AS source,
CAST(NULL AS VARCHAR) AS customer_type
