-- Fragment: the lifecycle rules from `lc_customers` (one row per customer with a purchase day up
-- to $as_of: the columns of _lifecycle_totals.sql and median_gap_days, the median gap between
-- its purchase days): lc_facts and `lifecycle`. Included by lifecycle (from the order lines) and
-- lifecycle_shared (from the shared purchase days of crm_core/facts.py).
-- Known by $as_of: in the customers table and created by then (or with no creation time), or
-- with a purchase by then (a customer missing from the customers table is still a customer).
lc_known AS (
    SELECT customer_id
    FROM f_customers
    WHERE created_at IS NULL OR CAST(created_at AS DATE) <= CAST($as_of AS DATE)
    UNION
    SELECT customer_id FROM lc_customers
),
lc_facts AS (
    SELECT
        k.customer_id,
        c.source,
        c.owner,
        p.first_purchase_date,
        p.last_purchase_date,
        coalesce(p.purchases, 0) AS purchases,
        p.median_gap_days,
        coalesce(p.revenue, 0) AS revenue,
        coalesce(p.revenue_12m, 0) AS revenue_12m,
        coalesce(p.revenue_prev_12m, 0) AS revenue_prev_12m,
        CAST($as_of AS DATE) - p.last_purchase_date AS days_since_last,
        CAST($as_of AS DATE) - p.first_purchase_date AS relationship_days,
        p.last_purchase_date - p.first_purchase_date AS span_days,
        -- Silence longer than this is overdue against the customer's own rhythm.
        greatest(
            CAST($gap_factor AS DOUBLE) * p.median_gap_days, CAST($min_overdue_days AS DOUBLE)
        ) AS overdue_days
    FROM lc_known AS k
    LEFT JOIN customers AS c ON c.customer_id = k.customer_id
    LEFT JOIN lc_customers AS p ON p.customer_id = k.customer_id
),
lc_ruled AS (
    SELECT
        *,
        CASE
            WHEN purchases = 0 THEN 'prospect'
            WHEN days_since_last > $churn_days THEN 'lost'
            WHEN purchases = 1 THEN 'exploration'
            WHEN days_since_last > overdue_days THEN 'decline_overdue'
            WHEN CAST($spend_drop AS DOUBLE) IS NOT NULL
                AND revenue_prev_12m > 0
                AND revenue_12m < revenue_prev_12m * (1 - CAST($spend_drop AS DOUBLE))
                THEN 'decline_spend'
            WHEN relationship_days < $formation_days THEN 'formation'
            ELSE 'stability'
        END AS rule_key
    FROM lc_facts
),
lifecycle AS (
    SELECT
        *,
        CASE WHEN rule_key LIKE 'decline%' THEN 'decline' ELSE rule_key END AS stage,
        -- How a relationship ended (lost) or whether it has lasted (reached stability).
        CASE
            WHEN purchases = 0 THEN NULL
            WHEN rule_key = 'lost' AND purchases = 1 THEN 'aborted_early'
            WHEN rule_key = 'lost' AND span_days < $formation_days THEN 'died_in_formation'
            WHEN rule_key = 'lost' THEN 'exited_after_stability'
            WHEN span_days >= $formation_days OR rule_key = 'stability' THEN 'lasting'
            ELSE 'ongoing'
        END AS end_pattern
    FROM lc_ruled
)
