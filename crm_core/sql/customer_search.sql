-- Grain: up to 20 customers of the customers table, within the global customer filters and
-- the scope, whose id or name contains $q (case-insensitive); exact id first, then by id.
WITH
-- @include f_customers
SELECT customer_id, name, region, owner
FROM f_customers
WHERE strpos(lower(customer_id), lower(CAST($q AS VARCHAR))) > 0
   OR strpos(lower(coalesce(name, '')), lower(CAST($q AS VARCHAR))) > 0
ORDER BY CASE WHEN lower(customer_id) = lower(CAST($q AS VARCHAR)) THEN 0 ELSE 1 END,
         customer_id
LIMIT 20
