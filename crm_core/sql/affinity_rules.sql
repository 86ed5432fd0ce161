-- Grain: one row per pair rule antecedent -> consequent among the baskets of _affinity_baskets
-- (customers), with the counts support, confidence and lift are computed from.
WITH
-- @include f_orders
,
-- @include affinity_baskets
SELECT
    antecedent,
    consequent,
    customers,
    antecedent_customers,
    consequent_customers,
    baskets
FROM rules
ORDER BY customers DESC, antecedent, consequent
