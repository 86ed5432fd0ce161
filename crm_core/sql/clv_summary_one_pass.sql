-- DuckDB only: clv_summary.sql's rows in one aggregation of the fact layer's days, without its
-- second pass (the customers' first purchase days joined back to every day). Same grain and
-- columns, except that in place of `monetary_value` it returns `repeat_amount_e4`: the exact
-- net amount of the repeat purchase days (every purchase day up to $calibration_end but the
-- first) in ten-thousandths (the days' amounts are DECIMAL(38,4)). crm_core/metrics/clv.py
-- divides it by `frequency` as DuckDB's avg of a DECIMAL does (the exact sum over the count
-- times 10^scale, in long double), so monetary_value is clv_summary.sql's to the last bit;
-- arg_min and that division are DuckDB's, so other engines run clv_summary.sql.
WITH
-- @include f_days
,
-- @include clv_daily_days
customers_days AS (
    SELECT
        customer_id,
        min(purchase_date) FILTER (WHERE is_purchase) AS first_purchase_date,
        max(purchase_date) FILTER (
            WHERE is_purchase AND purchase_date <= CAST($calibration_end AS DATE)
        ) AS last_purchase_date,
        count(*) FILTER (
            WHERE is_purchase AND purchase_date <= CAST($calibration_end AS DATE)
        ) - 1 AS frequency,
        -- one row per customer and day, so the first purchase day's amount is one row's
        sum(amount) FILTER (
            WHERE is_purchase AND purchase_date <= CAST($calibration_end AS DATE)
        ) - arg_min(amount, purchase_date) FILTER (WHERE is_purchase) AS repeat_amount,
        count(*) FILTER (
            WHERE is_purchase AND purchase_date > CAST($calibration_end AS DATE)
        ) AS holdout_frequency,
        CAST(sum(amount) FILTER (WHERE purchase_date <= CAST($calibration_end AS DATE)) AS DOUBLE)
            AS calibration_revenue
    FROM daily
    GROUP BY customer_id
    HAVING min(purchase_date) FILTER (WHERE is_purchase) <= CAST($calibration_end AS DATE)
)
SELECT
    customer_id,
    first_purchase_date,
    last_purchase_date,
    frequency,
    last_purchase_date - first_purchase_date AS recency_days,
    CAST($calibration_end AS DATE) - first_purchase_date AS age_days,
    -- NULL beyond a BIGINT (crm_core/metrics/clv.py then runs clv_summary.sql instead).
    TRY_CAST(repeat_amount * 10000 AS BIGINT) AS repeat_amount_e4,
    holdout_frequency,
    calibration_revenue
FROM customers_days
