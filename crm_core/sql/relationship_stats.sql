-- Grain: one row per buyer under the global filters and the scope (a non-return order line up
-- to $as_of_excl), or only $customer_id when it is set: the counts the relationship-level rules
-- read (crm_core/customer360.py, docs/metrics.md "Relationship level"). Post-sale = from the
-- first purchase up to $as_of_excl (exclusive). An interaction is the customer's own when its
-- kind is one of $inbound_kinds (lower case, chr(31)-delimited), else the company's; a
-- complaint is always the customer's. A purchase is followed up when a company contact falls
-- in [order date, order date + $follow_days days). Active months: calendar months holding a
-- company contact within the 365 days before $as_of_excl.
WITH
-- @include f_orders
,
buys AS (
    SELECT customer_id, order_id, min(order_date) AS bought_at
    FROM f_orders
    WHERE order_date < $as_of_excl
      AND (CAST($customer_id AS VARCHAR) IS NULL OR customer_id = $customer_id)
    GROUP BY customer_id, order_id
),
buyers AS (
    SELECT customer_id, min(bought_at) AS first_purchase, count(*) AS orders
    FROM buys
    GROUP BY customer_id
),
contacts AS (
    SELECT
        i.customer_id,
        i.occurred_at AS contact_at,
        CASE WHEN strpos(CAST($inbound_kinds AS VARCHAR), chr(31) || lower(i.kind) || chr(31)) > 0
             THEN 0 ELSE 1 END AS by_company
    FROM interactions AS i
    JOIN buyers AS b ON b.customer_id = i.customer_id
    WHERE i.occurred_at >= b.first_purchase AND i.occurred_at < $as_of_excl
    UNION ALL
    SELECT c.customer_id, c.received_at, 0
    FROM complaints AS c
    JOIN buyers AS b ON b.customer_id = c.customer_id
    WHERE c.received_at >= b.first_purchase AND c.received_at < $as_of_excl
),
per_customer AS (
    SELECT
        customer_id,
        sum(by_company) AS company_contacts,
        sum(1 - by_company) AS customer_contacts,
        count(DISTINCT CASE
            WHEN by_company = 1 AND contact_at >= $as_of_excl - INTERVAL '365' DAY
            THEN EXTRACT(YEAR FROM contact_at) * 12 + EXTRACT(MONTH FROM contact_at) END) AS active_months
    FROM contacts
    GROUP BY customer_id
),
followed AS (
    SELECT b.customer_id, count(DISTINCT b.order_id) AS followed_orders
    FROM buys AS b
    JOIN contacts AS k
        ON k.customer_id = b.customer_id
       AND k.by_company = 1
       AND k.contact_at >= b.bought_at
       AND k.contact_at < b.bought_at + CAST($follow_days AS INTEGER) * INTERVAL '1' DAY
    GROUP BY b.customer_id
)
SELECT
    b.customer_id,
    cu.owner,
    b.first_purchase,
    b.orders,
    coalesce(p.company_contacts, 0) AS company_contacts,
    coalesce(p.customer_contacts, 0) AS customer_contacts,
    coalesce(f.followed_orders, 0) AS followed_orders,
    coalesce(p.active_months, 0) AS active_months
FROM buyers AS b
LEFT JOIN per_customer AS p ON p.customer_id = b.customer_id
LEFT JOIN followed AS f ON f.customer_id = b.customer_id
LEFT JOIN customers AS cu ON cu.customer_id = b.customer_id
ORDER BY b.customer_id
