-- Fragment: a customer's purchase facts up to $as_of, the aggregates of a GROUP BY customer_id
-- over its purchase days (purchase_date, amount) up to $as_of: first and last purchase day,
-- purchase days, revenue, revenue in the 12 months to $as_of and in the 12 months before.
min(purchase_date) AS first_purchase_date,
max(purchase_date) AS last_purchase_date,
count(*) AS purchases,
sum(amount) AS revenue,
coalesce(sum(amount) FILTER (
    WHERE purchase_date > CAST($as_of AS DATE) - 365
), 0) AS revenue_12m,
coalesce(sum(amount) FILTER (
    WHERE purchase_date > CAST($as_of AS DATE) - 730
      AND purchase_date <= CAST($as_of AS DATE) - 365
), 0) AS revenue_prev_12m
