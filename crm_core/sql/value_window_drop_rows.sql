-- DuckDB only: forget the rows of one shared value window (stale data version, or the oldest
-- when the connection holds too many).
DELETE FROM value_window_rows WHERE window_id = $window_id
