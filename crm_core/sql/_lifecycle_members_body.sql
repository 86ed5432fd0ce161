-- Fragment: lifecycle_members's select over `lifecycle`: the customers of stage $stage (every
-- stage when NULL), the first $limit of each stage (all when NULL) by revenue, highest first,
-- ties by customer id; the columns of lifecycle_customers.sql.
SELECT
    -- @include lifecycle_columns
FROM (
    SELECT
        lifecycle.*,
        row_number() OVER (PARTITION BY stage ORDER BY revenue DESC, customer_id) AS member_rank
    FROM lifecycle
    WHERE CAST($stage AS VARCHAR) IS NULL OR stage = $stage
) AS ranked
WHERE CAST($limit AS BIGINT) IS NULL OR member_rank <= $limit
ORDER BY stage, member_rank
