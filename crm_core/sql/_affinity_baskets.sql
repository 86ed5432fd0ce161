-- Fragment: the baskets of the affinity rules. A basket is a customer: the items (category or
-- product, $item) they bought in [$start, $end_excl), net of returns. An item whose lines net to
-- <= 0 for that customer (bought and returned) is not in the basket. Only the $max_items items
-- with the most buyers take part in rules, so the self-join stays cheap on large product lists.
-- Needs the f_lines fragment (f_orders) included before it.
window_lines AS (
    SELECT
        customer_id,
        CASE WHEN CAST($item AS VARCHAR) = 'category' THEN category ELSE product END AS item,
        net_amount
    FROM f_lines
    WHERE order_date >= $start AND order_date < $end_excl AND customer_id IS NOT NULL
),
bought AS (
    SELECT customer_id, item, sum(net_amount) AS spend
    FROM window_lines
    WHERE item IS NOT NULL
    GROUP BY customer_id, item
    HAVING sum(net_amount) > 0
),
basket_count AS (
    SELECT count(DISTINCT customer_id) AS baskets FROM bought
),
item_buyers AS (
    SELECT
        item,
        count(*) AS buyers,
        sum(spend) AS spend,
        row_number() OVER (ORDER BY count(*) DESC, item) AS item_rank
    FROM bought
    GROUP BY item
),
top_items AS (
    SELECT item, buyers, spend FROM item_buyers WHERE item_rank <= $max_items
),
kept AS (
    SELECT b.customer_id, b.item FROM bought AS b JOIN top_items AS t ON t.item = b.item
),
pair_rules AS (
    SELECT a.item AS antecedent, c.item AS consequent, count(*) AS customers
    FROM kept AS a
    JOIN kept AS c ON c.customer_id = a.customer_id AND c.item <> a.item
    GROUP BY a.item, c.item
    HAVING count(*) >= $min_customers
),
rules AS (
    SELECT
        p.antecedent,
        p.consequent,
        p.customers,
        ta.buyers AS antecedent_customers,
        tc.buyers AS consequent_customers,
        CAST($baskets AS BIGINT) AS baskets,
        tc.spend AS consequent_spend
    FROM pair_rules AS p
    JOIN top_items AS ta ON ta.item = p.antecedent
    JOIN top_items AS tc ON tc.item = p.consequent
    -- $baskets = basket_count, counted first by its own query (affinity._params): joined here,
    -- PostgreSQL re-aggregated it for every candidate row.
    WHERE p.customers >= CAST($min_support AS DOUBLE) * CAST($baskets AS BIGINT)
)
