-- Fragment: the order lines of the customers an append touched (`fact_touched`, filled by
-- summaries.merge): their fact rows are deleted and built again from these lines.
fact_lines AS (
    SELECT * FROM orders WHERE customer_id IN (SELECT customer_id FROM fact_touched)
)
