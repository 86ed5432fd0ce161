-- Grain: one row: whether the interactions table has any row.
SELECT EXISTS (SELECT 1 FROM interactions) AS has_interactions
