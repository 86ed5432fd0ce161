-- Grain: one row per (dimension, value) that a global filter can take: the customers' values and
-- the leads' and complaints' own ones (a lead that never became a customer has a region too).
-- Categories come from the order_categories summary: the sidebar asks on every page run.
SELECT 'region' AS dimension, region AS value FROM customers WHERE region IS NOT NULL
UNION
SELECT 'region', region FROM leads WHERE region IS NOT NULL
UNION
SELECT 'region', region FROM complaints WHERE region IS NOT NULL
UNION
SELECT 'source', source FROM customers WHERE source IS NOT NULL
UNION
SELECT 'source', source FROM leads WHERE source IS NOT NULL
UNION
SELECT 'owner', owner FROM customers WHERE owner IS NOT NULL
UNION
SELECT 'owner', owner FROM leads WHERE owner IS NOT NULL
UNION
SELECT 'segment', segment FROM customers WHERE segment IS NOT NULL
UNION
SELECT 'category', category FROM order_categories
ORDER BY dimension, value
