-- Grain: one row: first and last day with a non-return order line under the global filters (the
-- last one is the default "as of" date of the churn and CLV models), from the fact layer's days
-- (_f_days.sql: a day with a non-return line has sale_lines > 0), which are the order lines'.
WITH
-- @include f_days
SELECT min(line_date) AS first_date, max(line_date) AS last_date
FROM f_days
WHERE sale_lines > 0
