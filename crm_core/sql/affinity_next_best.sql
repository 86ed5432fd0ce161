-- Grain: one row per customer x suggested item (at most $per_customer per customer): an item B
-- the customer has not bought in the window (no line of B at all, so a returned B is not
-- offered again) while they bought the antecedent A of a rule A -> B. Of several such rules the
-- one with the highest confidence speaks for B. expected_value = confidence x B's average net
-- spend among its buyers = customers(A and B) x spend(B) / (customers(A) x customers(B)).
WITH
-- @include f_orders
,
-- @include affinity_baskets
,
seen AS (
    SELECT DISTINCT customer_id, item FROM window_lines WHERE item IS NOT NULL
),
candidates AS (
    SELECT
        k.customer_id,
        r.consequent AS item,
        r.antecedent AS because,
        CAST(r.customers AS DOUBLE) / r.antecedent_customers AS confidence,
        CAST(r.consequent_spend AS DOUBLE) / r.consequent_customers AS consequent_avg_spend,
        row_number() OVER (
            PARTITION BY k.customer_id, r.consequent
            ORDER BY r.customers * 1.0 / r.antecedent_customers DESC, r.antecedent
        ) AS rule_rank
    FROM kept AS k
    JOIN rules AS r ON r.antecedent = k.item
    LEFT JOIN seen AS s ON s.customer_id = k.customer_id AND s.item = r.consequent
    WHERE s.customer_id IS NULL
),
ranked AS (
    SELECT
        customer_id,
        item,
        because,
        confidence,
        confidence * consequent_avg_spend AS expected_value,
        row_number() OVER (
            PARTITION BY customer_id ORDER BY confidence * consequent_avg_spend DESC, item
        ) AS suggestion_rank
    FROM candidates
    WHERE rule_rank = 1
)
SELECT
    c.owner,
    r.customer_id,
    c.name,
    r.suggestion_rank,
    r.item,
    r.because,
    r.confidence,
    r.expected_value
FROM ranked AS r
LEFT JOIN customers AS c ON c.customer_id = r.customer_id
WHERE r.suggestion_rank <= $per_customer
ORDER BY c.owner NULLS LAST, r.expected_value DESC, r.customer_id, r.suggestion_rank
