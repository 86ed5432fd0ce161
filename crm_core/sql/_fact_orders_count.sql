-- Fragment: the orders of a group of `fact_lines`, as _value_base.sql counts them: distinct
-- orders with a non-return line of positive amount.
count(DISTINCT CASE WHEN NOT is_return AND amount > 0 THEN order_id END) AS orders
