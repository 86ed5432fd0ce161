-- Fragment, DuckDB only: M of _value_window_base.sql for a buyer `a` when the value rank ranks
-- by revenue (crm_core/engine/facts.py swaps it in then). M's order (revenue ascending, then
-- customer_id descending) is exactly the reverse of the value rank's (revenue descending, then
-- customer_id ascending; customer_id is unique and never NULL, a required column of orders), so
-- a buyer's place in M's order is p = n - value_rank (0-based), and ntile(5) over n rows puts
-- place p in the bucket below: the first n % 5 buckets hold one row more (n // 5 + 1), the
-- others n // 5; under 5 buyers each has a bucket of its own.
CAST(
    CASE
        WHEN t.n_active - a.value_rank < t.tile_large * (t.tile_size + 1)
            THEN 1 + (t.n_active - a.value_rank) // (t.tile_size + 1)
        ELSE
            1 + t.tile_large
            + (t.n_active - a.value_rank - t.tile_large * (t.tile_size + 1)) // t.tile_size
    END AS BIGINT
)
