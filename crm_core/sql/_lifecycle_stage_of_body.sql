-- Fragment: lifecycle_stage_of's select over `lifecycle`; also read from the shared purchase
-- days by lifecycle_stage_of_shared.
SELECT customer_id, stage
FROM lifecycle
