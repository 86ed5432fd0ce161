-- Fragment, DuckDB only: R and F of _value_window_base.sql's RFM scores for a buyer `a`,
-- quintiles over a total order: among equal values the lower customer_id scores higher.
-- R is ntile(5) over (recency_days DESC, customer_id DESC) without sorting the buyers: a
-- buyer's place p in that order is its recency's first place (v_r_groups `rg`) plus, only in a
-- recency shared across two quintiles, its place among those buyers (v_r_edges `re`); p falls
-- in ntile's bucket as in _value_m_score_rank.sql.
CAST(
    CASE
        WHEN coalesce(re.p, rg.first_p) < t.tile_large * (t.tile_size + 1)
            THEN 1 + coalesce(re.p, rg.first_p) // (t.tile_size + 1)
        ELSE
            1 + t.tile_large
            + (coalesce(re.p, rg.first_p) - t.tile_large * (t.tile_size + 1)) // t.tile_size
    END AS BIGINT
) AS r_score,
ntile(5) OVER (ORDER BY a.orders, a.customer_id DESC) AS f_score
