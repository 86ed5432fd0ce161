-- Grain: one row per (dimension, value) that a global filter can take within the scope ($regions /
-- $owners, chr(31)-delimited, NULL = unrestricted): the customers' values and the leads' and
-- complaints' own ones (a lead that never became a customer has a region too; a blank one falls
-- back to its customer's, listed already). No joins: the sidebar asks on every page run, and
-- categories come from the order_categories summary for the same reason.
WITH
in_scope AS (
    SELECT 'customers' AS t, region, owner, source, segment FROM customers
    UNION ALL
    SELECT 'leads', region, owner, source, NULL FROM leads
    UNION ALL
    SELECT 'complaints', region, NULL, NULL, NULL FROM complaints
),
scoped AS (
    SELECT *
    FROM in_scope
    WHERE (CAST($regions AS VARCHAR) IS NULL
           OR strpos(CAST($regions AS VARCHAR), chr(31) || region || chr(31)) > 0)
      AND (CAST($owners AS VARCHAR) IS NULL
           OR strpos(CAST($owners AS VARCHAR), chr(31) || owner || chr(31)) > 0)
)
SELECT 'region' AS dimension, region AS value FROM scoped WHERE region IS NOT NULL
UNION
SELECT 'source', source FROM scoped WHERE source IS NOT NULL
UNION
SELECT 'owner', owner FROM scoped WHERE owner IS NOT NULL
UNION
SELECT 'segment', segment FROM scoped WHERE segment IS NOT NULL
UNION
SELECT 'category', category FROM order_categories
ORDER BY dimension, value
