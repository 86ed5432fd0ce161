-- DuckDB only: forget the rows of one shared contact-counts window.
DELETE FROM lead_contact_counts_rows WHERE window_id = $window_id
