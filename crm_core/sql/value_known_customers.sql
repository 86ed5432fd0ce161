-- Grain: one row per customer id found in any table under the global filters: the customers
-- table, order lines (returns included), leads, complaints and interactions; with the customer's
-- name, region, owner, source and type (customers.segment) when the customers table has them. An id missing from
-- the customers table passes only while no customer filter is set (as in f_orders); the
-- category filter narrows order lines only, so it keeps every customer of the customers table.
WITH
-- @include f_customers
,
-- @include f_orders
,
ids AS (
    SELECT customer_id FROM f_customers
    UNION
    SELECT customer_id FROM f_lines
    UNION
    SELECT customer_id FROM leads
    WHERE customer_id IS NOT NULL
        AND CAST($region AS VARCHAR) IS NULL AND CAST($source AS VARCHAR) IS NULL
        AND CAST($owner AS VARCHAR) IS NULL AND CAST($segment AS VARCHAR) IS NULL
    UNION
    SELECT customer_id FROM complaints
    WHERE customer_id IS NOT NULL
        AND CAST($region AS VARCHAR) IS NULL AND CAST($source AS VARCHAR) IS NULL
        AND CAST($owner AS VARCHAR) IS NULL AND CAST($segment AS VARCHAR) IS NULL
    UNION
    SELECT customer_id FROM interactions
    WHERE customer_id IS NOT NULL
        AND CAST($region AS VARCHAR) IS NULL AND CAST($source AS VARCHAR) IS NULL
        AND CAST($owner AS VARCHAR) IS NULL AND CAST($segment AS VARCHAR) IS NULL
)
SELECT
    ids.customer_id,
    c.name,
    c.region,
    c.owner,
    c.source,
    c.segment AS customer_type
FROM ids
LEFT JOIN customers AS c ON c.customer_id = ids.customer_id
