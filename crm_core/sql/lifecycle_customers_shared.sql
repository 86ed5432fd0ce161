-- DuckDB only: lifecycle_customers.sql (same grain and columns) read from the shared purchase
-- days $days_id (crm_core/facts.py) instead of the order lines.
WITH
-- @include f_customers
,
-- @include lifecycle_shared
-- @include lifecycle_customers_body
