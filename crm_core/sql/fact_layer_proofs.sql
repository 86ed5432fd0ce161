-- Grain: one row: order_proofs (summary_order_proofs.sql), what the fact layer's day grain may
-- assume of the order lines.
SELECT one_line_per_order, orders_one_day FROM order_proofs
