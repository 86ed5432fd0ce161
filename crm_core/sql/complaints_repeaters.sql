-- Grain: one row per repeat complainant: a customer with $min_complaints or more complaints
-- received within $days days of each other, among the complaints received in
-- [$start, $end_excl). Name and account owner from customers; complaints in the period, first
-- and last receipt, their categories and the staff who handled them.
WITH
-- @include f_complaints
,
period AS (
    SELECT customer_id, complaint_id, received_at, category, owner AS handler
    FROM f_complaints
    WHERE customer_id IS NOT NULL AND received_at >= $start AND received_at < $end_excl
),
runs AS (
    SELECT
        customer_id,
        received_at,
        lag(received_at, CAST($min_complaints AS INTEGER) - 1)
            OVER (PARTITION BY customer_id ORDER BY received_at, complaint_id) AS run_start_at
    FROM period
),
repeaters AS (
    SELECT DISTINCT customer_id
    FROM runs
    WHERE received_at <= run_start_at + CAST($days AS INTEGER) * INTERVAL '1 day'
)
SELECT
    p.customer_id,
    c.name,
    c.owner AS account_owner,
    count(*) AS complaints,
    min(p.received_at) AS first_received_at,
    max(p.received_at) AS last_received_at,
    string_agg(DISTINCT p.category, ', ' ORDER BY p.category) AS categories,
    string_agg(DISTINCT p.handler, ', ' ORDER BY p.handler) AS handlers
FROM period AS p
JOIN repeaters AS r ON r.customer_id = p.customer_id
LEFT JOIN customers AS c ON c.customer_id = p.customer_id
GROUP BY p.customer_id, c.name, c.owner
ORDER BY complaints DESC, last_received_at DESC, p.customer_id
