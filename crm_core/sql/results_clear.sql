-- Every stored result goes (a customer's erasure: stored results may name them).
DELETE FROM result_store
