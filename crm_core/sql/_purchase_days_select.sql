-- Fragment: the rows of one shared purchase-days window: one row per (customer, calendar day
-- with non-return order lines) under the global filters, every day of the data, with the day's
-- amount and the customer's previous and next purchase day; tagged with its window_id.
WITH
-- @include purchase_days
SELECT
    CAST($window_id AS BIGINT) AS window_id,
    customer_id,
    purchase_date,
    amount,
    prev_date,
    next_date
FROM purchase_days
