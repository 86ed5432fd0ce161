"""Translation of crm_core's DuckDB-flavoured SQL for PostgreSQL and Spark: sqlglot + the shims.

Imported only by the server backends, so the embedded DuckDB default never loads sqlglot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import sqlglot
from sqlglot import exp

from crm_core.engine import sqlfiles, summaries
from crm_core.engine.schema import SQL_TYPES, TABLES

WRITES = (exp.Create, exp.Insert, exp.Delete, exp.Update, exp.Alter, exp.Drop)


def is_begin(tree: exp.Expr) -> bool:
    return isinstance(tree, exp.Transaction)


def is_end(tree: exp.Expr) -> bool:
    """COMMIT or ROLLBACK."""
    return isinstance(tree, exp.Commit | exp.Rollback)


def pg_type(duck_type: str) -> str:
    """A DuckDB column type in PostgreSQL's spelling."""
    return exp.DataType.build(duck_type, dialect="duckdb").sql("postgres")


def is_write(tree: exp.Expr) -> bool:
    """Whether a statement changes data or tables (it then needs the writer's lock)."""
    return isinstance(tree, WRITES)


@dataclass(frozen=True)
class Statement:
    """One statement of a SQL text, translated for an engine."""

    tree: exp.Expr  # parsed as DuckDB SQL, shims applied (Spark interprets DDL/DML on it)
    sql: str  # the statement in the engine's dialect
    params: tuple[str, ...]  # PostgreSQL: names bound to $1..$n; Spark: the :names used


def _replace_table(tree: exp.Expr, dialect: str) -> list[exp.Expr]:
    # CREATE OR REPLACE TABLE is DuckDB's (and Delta's); PostgreSQL and Parquet tables need a
    # DROP first. Inside a load's transaction the two are still one atomic change.
    if isinstance(tree, exp.Create) and tree.args.get("replace") and tree.kind == "TABLE":
        new = tree.copy()
        new.set("replace", False)
        drop = exp.Drop(tables=[tree.this.copy()], kind="TABLE", exists=True)
        return [drop, new]
    return [tree]


def _alias_derived_tables(tree: exp.Expr, dialect: str) -> list[exp.Expr]:
    # PostgreSQL before 16 refuses a subquery in FROM without an alias; DuckDB and Spark do not.
    n = 0
    for sub in list(tree.find_all(exp.Subquery)):
        if not sub.alias and isinstance(sub.parent, exp.From | exp.Join):
            n += 1
            sub.set("alias", exp.TableAlias(this=exp.to_identifier(f"_sub{n}")))
    return [tree]


@cache
def _type_schema() -> dict[str, dict[str, str]]:
    """Column types of the canonical and summary tables, for type-aware shims."""
    schema = {t: {c.name: SQL_TYPES[c.kind] for c in tb.all_columns} for t, tb in TABLES.items()}
    for name in summaries.SUMMARIES:
        try:
            q = _annotated(
                sqlglot.parse_one(sqlfiles.sql(f"summary_{name}"), read="duckdb"), schema
            )
            schema[name] = {s.alias_or_name: s.type.sql("duckdb") for s in q.selects if s.type}
        except Exception:  # a summary sqlglot cannot type: the shim just does not see it
            continue
    return schema


def _annotated(tree: exp.Expr, schema: Any) -> Any:
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    q = qualify(
        tree,
        schema=schema,
        dialect="duckdb",
        validate_qualify_columns=False,
        quote_identifiers=False,
        identify=False,
    )
    return annotate_types(q, schema=schema, dialect="duckdb")


def _date_minus_date(tree: exp.Expr, dialect: str) -> list[exp.Expr]:
    # DuckDB and PostgreSQL give DATE - DATE as whole days; Spark gives an INTERVAL. sqlglot
    # cannot tell without types, so type the statement against the known tables first.
    if not any(isinstance(s, exp.Sub) for s in tree.find_all(exp.Sub)):
        return [tree]
    try:
        typed = _annotated(tree.copy(), _type_schema())
    except Exception:
        return [tree]
    found = False
    for sub in list(typed.find_all(exp.Sub)):
        lt, rt = sub.left.type, sub.right.type
        if lt and rt and lt.is_type(exp.DataType.Type.DATE) and rt.is_type(exp.DataType.Type.DATE):
            sub.replace(exp.DateDiff(this=sub.left, expression=sub.right, unit=exp.var("DAY")))
            found = True
    return [typed] if found else [tree]


def _percentile_cont(tree: exp.Expr, dialect: str) -> list[exp.Expr]:
    # sqlglot writes percentile_cont(q) WITHIN GROUP (ORDER BY x) as Spark's PERCENTILE_APPROX:
    # an approximation. Spark's percentile(x, q) is the same exact, interpolated value.
    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.PercentileCont):
            order = node.expression.expressions[0]
            q: exp.Expr = node.this.this.copy()
            if order.args.get("desc"):
                q = exp.Sub(this=exp.Literal.number(1), expression=q)
            return exp.Anonymous(this="PERCENTILE", expressions=[order.this.copy(), q])
        return node

    return [tree.transform(fix)]


def _epoch(tree: exp.Expr, dialect: str) -> list[exp.Expr]:
    # EXTRACT(EPOCH FROM ts) / epoch(ts): seconds since 1970 of a wall-clock timestamp (DuckDB,
    # PostgreSQL); of a difference of timestamps, its length in seconds. Spark has no EPOCH
    # field; unix_micros of the timestamp read as UTC (the session time zone) is exact.
    def micros(e: exp.Expr) -> exp.Expr:
        ltz = exp.DataType.build("TIMESTAMP_LTZ", dialect="spark")
        return exp.Anonymous(this="UNIX_MICROS", expressions=[exp.cast(e.copy(), ltz)])

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Extract) and node.this.name.upper() == "EPOCH":
            arg = node.expression
        elif isinstance(node, exp.TimeToUnix):
            arg = node.this
        else:
            return node
        inner = arg.unnest() if isinstance(arg, exp.Paren) else arg
        if isinstance(inner, exp.Sub):
            us: exp.Expr = exp.Sub(this=micros(inner.this), expression=micros(inner.expression))
        else:
            us = micros(inner)
        # A DOUBLE divisor, as DuckDB's epoch is a DOUBLE (a decimal literal would make Spark
        # round later divisions to the decimal's scale).
        return exp.Div(this=exp.paren(us), expression=exp.cast(exp.Literal.number(1e6), "DOUBLE"))

    return [tree.transform(fix)]


def _sorted_string_agg(tree: exp.Expr, dialect: str) -> list[exp.Expr]:
    # string_agg([DISTINCT] x, sep ORDER BY x) becomes LISTAGG(DISTINCT …) WITHIN GROUP, which
    # Spark 4.3 fails to run (ClassCastException). Sorting the collected values is the same
    # list: array_join(array_sort(collect_set|collect_list(x)), sep), NULL for no values.
    def fix(node: exp.Expr) -> exp.Expr:
        if not (isinstance(node, exp.GroupConcat) and isinstance(node.this, exp.Order)):
            return node
        order = node.this
        keys = order.expressions
        value = order.this
        distinct = isinstance(value, exp.Distinct)
        if distinct:
            value = value.expressions[0]
        if len(keys) != 1 or keys[0].this != value:
            return node  # ordered by another column: LISTAGG … WITHIN GROUP works
        collect = "COLLECT_SET" if distinct else "COLLECT_LIST"
        arr: exp.Expr = exp.Anonymous(
            this="ARRAY_SORT", expressions=[exp.Anonymous(this=collect, expressions=[value.copy()])]
        )
        if keys[0].args.get("desc"):
            arr = exp.Anonymous(this="REVERSE", expressions=[arr])
        sep = node.args.get("separator") or exp.Literal.string(",")
        joined = exp.Anonymous(this="ARRAY_JOIN", expressions=[arr, sep.copy()])
        empty = exp.EQ(
            this=exp.Anonymous(this="SIZE", expressions=[arr.copy()]),
            expression=exp.Literal.number(0),
        )
        return exp.case().when(empty, exp.null()).else_(joined)

    return [tree.transform(fix)]


# The dialect shims: every place where sqlglot's translation of DuckDB SQL is not enough.
# (dialect, shim); a shim maps one parsed DuckDB statement to the statements to run instead.
SHIMS: list[tuple[str, Callable[[exp.Expr, str], list[exp.Expr]]]] = [
    ("postgres", _replace_table),
    ("spark", _replace_table),
    ("postgres", _alias_derived_tables),
    ("spark", _date_minus_date),
    ("spark", _percentile_cont),
    ("spark", _epoch),
    ("spark", _sorted_string_agg),
]


@lru_cache(maxsize=4096)
def translate(text: str, dialect: str) -> tuple[Statement, ...]:
    """DuckDB-flavoured SQL → statements for `dialect` ("postgres" or "spark"), cached."""
    trees = [t for t in sqlglot.parse(text, read="duckdb") if t is not None]
    for d, shim in SHIMS:
        if d == dialect:
            trees = [out for t in trees for out in shim(t, dialect)]
    return tuple(_render(t, dialect) for t in trees)


def _render(tree: exp.Expr, dialect: str) -> Statement:
    names = list(dict.fromkeys(p.name for p in tree.find_all(exp.Placeholder)))
    if "" in names:
        raise ValueError("positional ? parameters are not supported: name them ($name)")
    if dialect == "postgres":

        def number(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Placeholder):
                return exp.Parameter(this=exp.Literal.number(names.index(node.name) + 1))
            return node

        text = tree.copy().transform(number).sql("postgres", comments=False)
    else:
        text = tree.sql(dialect, comments=False)
    return Statement(tree, text, tuple(names))
