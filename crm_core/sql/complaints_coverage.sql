-- Grain: one row for the whole complaints table (no filters): rows, first and last receipt, and
-- how many rows have a value in each optional column the analyses depend on.
SELECT
    count(*) AS complaints,
    min(received_at) AS first_received_at,
    max(received_at) AS last_received_at,
    count(accepted_at) AS accepted_at,
    count(handled_at) AS handled_at,
    count(feedback_at) AS feedback_at,
    count(closed_at) AS closed_at,
    count(satisfaction) AS satisfaction,
    count(compensation) AS compensation,
    count(customer_id) AS customer_id,
    count(severity) AS severity
FROM complaints
