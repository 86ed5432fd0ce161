-- Fragment: _fact_orders_count where order_proofs.one_line_per_order holds: each order is one
-- line, so counting the lines counts the orders (a distinct count costs about four times more).
count(CASE WHEN NOT is_return AND amount > 0 THEN order_id END) AS orders
