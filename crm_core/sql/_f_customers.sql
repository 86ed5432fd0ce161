-- Fragment: customers passing the global customer filters and the scope ($regions / $owners:
-- chr(31)-delimited allowed values, NULL = unrestricted; crm_core/filters.py).
f_customers AS (
    SELECT *
    FROM customers
    WHERE (CAST($region AS VARCHAR) IS NULL OR region = $region)
      AND (CAST($source AS VARCHAR) IS NULL OR source = $source)
      AND (CAST($owner AS VARCHAR) IS NULL OR owner = $owner)
      AND (CAST($segment AS VARCHAR) IS NULL OR segment = $segment)
      AND (CAST($regions AS VARCHAR) IS NULL
           OR strpos(CAST($regions AS VARCHAR), chr(31) || region || chr(31)) > 0)
      AND (CAST($owners AS VARCHAR) IS NULL
           OR strpos(CAST($owners AS VARCHAR), chr(31) || owner || chr(31)) > 0)
)
