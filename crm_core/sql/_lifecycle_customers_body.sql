-- Fragment: lifecycle_customers's select over `lifecycle`; also read from the shared purchase
-- days by lifecycle_customers_shared.
SELECT
    -- @include lifecycle_columns
FROM lifecycle
ORDER BY customer_id
