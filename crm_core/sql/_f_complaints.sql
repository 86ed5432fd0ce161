-- Fragment: complaints passing the global filters and the scope. Region is the complaint's own
-- when it has one, else its customer's; source, owner (the account owner, not the complaint's
-- handler) and segment are the customer's. The product-category filter does not apply (a
-- complaint's category is a complaint type). A complaint with no region of its own and no
-- known customer passes only while no customer filter or scope is set.
f_complaints AS (
    SELECT k.*
    FROM complaints AS k
    -- Customers are joined only under a customer filter or scope: every condition below holds
    -- without one, and joining every complaint to its customer costs more than most of the
    -- queries reading them (bench/RESULTS.md).
    LEFT JOIN (
        SELECT *
        FROM customers
        WHERE CAST($region AS VARCHAR) IS NOT NULL OR CAST($source AS VARCHAR) IS NOT NULL
           OR CAST($owner AS VARCHAR) IS NOT NULL OR CAST($segment AS VARCHAR) IS NOT NULL
           OR CAST($regions AS VARCHAR) IS NOT NULL OR CAST($owners AS VARCHAR) IS NOT NULL
    ) AS c ON c.customer_id = k.customer_id
    WHERE (CAST($region AS VARCHAR) IS NULL OR coalesce(k.region, c.region) = $region)
      AND (CAST($source AS VARCHAR) IS NULL OR c.source = $source)
      AND (CAST($owner AS VARCHAR) IS NULL OR c.owner = $owner)
      AND (CAST($segment AS VARCHAR) IS NULL OR c.segment = $segment)
      AND (CAST($regions AS VARCHAR) IS NULL
           OR strpos(CAST($regions AS VARCHAR), chr(31) || coalesce(k.region, c.region) || chr(31))
              > 0)
      AND (CAST($owners AS VARCHAR) IS NULL
           OR strpos(CAST($owners AS VARCHAR), chr(31) || c.owner || chr(31)) > 0)
)
