-- Fragment: customers passing the global customer filters.
f_customers AS (
    SELECT *
    FROM customers
    WHERE (CAST($region AS VARCHAR) IS NULL OR region = $region)
      AND (CAST($source AS VARCHAR) IS NULL OR source = $source)
      AND (CAST($owner AS VARCHAR) IS NULL OR owner = $owner)
      AND (CAST($segment AS VARCHAR) IS NULL OR segment = $segment)
)
