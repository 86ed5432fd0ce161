-- Grain: one row per event of customer $customer_id, oldest first: each order (kind 'order',
-- its non-return lines) and each return (kind 'return', its is_return lines) with id = the
-- order id; each interaction (id = interaction_id; initiator 'customer' when its kind is one
-- of $inbound_kinds, chr(31)-delimited, else 'company'); each lead (id = lead_id) and each
-- complaint (id = complaint_id). Every date, no period: the profile shows the whole history.
-- The caller checks the customer is within the filters and scope (customer360.profile).
SELECT event_at, kind, id, amount, product, category, channel, initiator, purpose, outcome, owner,
       stage, status
FROM (
    SELECT
        min(order_date) AS event_at,
        CASE WHEN is_return THEN 'return' ELSE 'order' END AS kind,
        CASE WHEN is_return THEN 2 ELSE 1 END AS kind_rank,
        order_id AS id,
        sum(CAST(CASE WHEN is_return THEN -abs(amount) ELSE amount END AS DOUBLE)) AS amount,
        min(product) AS product,
        min(category) AS category,
        min(channel) AS channel,
        CAST(NULL AS VARCHAR) AS initiator,
        CAST(NULL AS VARCHAR) AS purpose,
        CAST(NULL AS VARCHAR) AS outcome,
        CAST(NULL AS VARCHAR) AS owner,
        CAST(NULL AS VARCHAR) AS stage,
        min(status) AS status
    FROM orders
    WHERE customer_id = $customer_id
    GROUP BY order_id, is_return
    UNION ALL
    SELECT
        occurred_at, 'interaction', 3, interaction_id, CAST(NULL AS DOUBLE),
        CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), kind,
        CASE WHEN strpos(CAST($inbound_kinds AS VARCHAR), chr(31) || lower(kind) || chr(31)) > 0
             THEN 'customer' ELSE 'company' END,
        purpose, outcome, owner, CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR)
    FROM interactions
    WHERE customer_id = $customer_id
    UNION ALL
    SELECT
        created_at, 'lead', 4, lead_id, CAST(amount AS DOUBLE), product, CAST(NULL AS VARCHAR),
        source, CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), outcome, owner, stage,
        CAST(NULL AS VARCHAR)
    FROM leads
    WHERE customer_id = $customer_id
    UNION ALL
    SELECT
        received_at, 'complaint', 5, complaint_id, CAST(NULL AS DOUBLE), product,
        category, channel, 'customer', CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), owner,
        CAST(NULL AS VARCHAR), status
    FROM complaints
    WHERE customer_id = $customer_id
) AS events
ORDER BY event_at, kind_rank, id
