-- Grain: one row per customer in the customers table: the contact facts a call list needs
-- (joined in pandas to the few ranked customers; a list parameter would not travel to every
-- backend).
SELECT customer_id, name, owner, region
FROM customers
