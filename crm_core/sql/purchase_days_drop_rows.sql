-- DuckDB only: forget the rows of one shared purchase-days window.
DELETE FROM purchase_days_rows WHERE window_id = $window_id
