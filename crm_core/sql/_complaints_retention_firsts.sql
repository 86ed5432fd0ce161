-- Fragment (needs c_sla and `horizon` (last_order_at) before it): `firsts`, each complaint of a
-- known customer received in [$start, $end_excl) whose $days-day follow-up ends by the last
-- order, numbered per customer in order of receipt (rn = 1: the customer's first, its reference).
firsts AS (
    SELECT
        k.customer_id,
        k.received_at AS ref_at,
        k.resolve_sla,
        row_number() OVER (PARTITION BY k.customer_id ORDER BY k.received_at, k.complaint_id) AS rn
    FROM c_sla AS k
    CROSS JOIN horizon AS h
    WHERE k.customer_id IS NOT NULL
      AND k.received_at >= $start AND k.received_at < $end_excl
      AND k.received_at + CAST($days AS INTEGER) * INTERVAL '1 day' <= h.last_order_at
),
