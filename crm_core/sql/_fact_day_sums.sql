-- Fragment: the sums of a group of `fact_lines` that the shared windows add up over days: lines,
-- non-return lines (a purchase day has one), whether a positive sale line is among them
-- (has_bought of _value_base.sql), net amount (a sale's amount, a return's -|amount|), gross
-- (non-return amount), returns (|amount| of returns), profit over lines with a known cost (a
-- return takes its margin back). The same expressions as _value_base.sql and _f_orders.sql.
count(*) AS lines,
count(CASE WHEN NOT is_return THEN 1 END) AS sale_lines,
max(CASE WHEN NOT is_return AND amount > 0 THEN 1 ELSE 0 END) AS has_bought,
sum(CASE WHEN is_return THEN -abs(amount) ELSE amount END) AS net_amount,
sum(CASE WHEN NOT is_return THEN amount END) AS gross_amount,
sum(CASE WHEN is_return THEN abs(amount) END) AS returns_amount,
sum(
    CASE
        WHEN cost IS NULL THEN NULL
        WHEN is_return THEN -(abs(amount) - abs(cost))
        ELSE amount - cost
    END
) AS profit
