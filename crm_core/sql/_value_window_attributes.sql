-- Fragment, DuckDB only: a shared value window's customer attributes, from the customers row
-- `c` of _value_window_base.sql.
c.name,
c.owner,
c.region,
c.source,
c.segment AS customer_type
