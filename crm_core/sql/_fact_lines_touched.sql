-- Fragment: the order lines of the customers an append touched (`fact_touched_lines`, filled
-- by summaries.merge from `fact_touched`): their fact rows are deleted and built again from these
-- lines.
fact_lines AS (
    SELECT * FROM fact_touched_lines
)
