-- DuckDB only: forget the rows of one shared lifecycle-stages window.
DELETE FROM lifecycle_stages_rows WHERE window_id = $window_id
