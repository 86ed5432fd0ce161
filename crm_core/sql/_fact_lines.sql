-- Fragment: the order lines a fact table (crm_core/engine/summaries.py) is built from: every
-- line, for a full rebuild.
fact_lines AS (
    SELECT * FROM orders
)
