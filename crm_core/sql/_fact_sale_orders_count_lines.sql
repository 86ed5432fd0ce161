-- Fragment: _fact_sale_orders_count where order_proofs.one_line_per_order holds: each order is
-- one line, so counting the non-return lines counts the distinct non-return orders.
count(CASE WHEN NOT is_return THEN 1 END) AS sale_orders
