-- Grain: one row per (kind, id) that a scope ($regions / $owners, no other filter, no dates)
-- admits: its customers, its leads (by the lead's own region and owner, else its customer's)
-- and its complaints (by the complaint's region, else its customer's). Order lines follow their
-- customer. Two restricted scopes that admit the same rows show the same figures, so the weekly
-- digest computes them once (crm_core/digest.py, compute_scopes).
WITH
-- @include f_customers
,
-- @include pipeline_leads
,
-- @include f_complaints
SELECT 'c' AS kind, CAST(customer_id AS VARCHAR) AS id FROM f_customers
UNION ALL
SELECT 'l' AS kind, CAST(lead_id AS VARCHAR) AS id FROM f_leads
UNION ALL
SELECT 'k' AS kind, CAST(complaint_id AS VARCHAR) AS id FROM f_complaints
ORDER BY kind, id
