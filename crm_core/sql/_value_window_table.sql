-- Fragment: `value_customers` read from the shared value window $window_id (crm_core/facts.py)
-- instead of computed from the order lines.
value_customers AS (SELECT * FROM value_window_rows WHERE window_id = $window_id)
