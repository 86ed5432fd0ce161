"""Check: bad and missing values, duplicate keys (in a file, across a batch), order lines."""

from __future__ import annotations

import datetime as dt

from crm_core.engine import config, db
from crm_core.engine.schema import TABLES, Table
from crm_core.ingest.reports import FileReport, Note, Problem

EXAMPLES = 5  # problem examples kept per column in a report

# Values of a status column that mark an order line as a return (lower-cased, exact).
RETURN_WORDS = (
    "return",
    "returned",
    "refund",
    "refunded",
    "cancel",
    "cancelled",
    "canceled",
    "退货",
    "退款",
    "已退货",
    "已退款",
    "取消",
    "已取消",
    "退单",
)

# Columns holding when something happened: a value after "now" is a data error.
EVENT_COLUMNS = {
    "order_date",
    "received_at",
    "created_at",
    "occurred_at",
    "accepted_at",
    "handled_at",
    "feedback_at",
    "closed_at",
    "stage_changed_at",
}


# Kinds whose cells are parsed: a non-blank cell that parses to nothing is a bad value (an id
# or a text is its trimmed cell, blank or not).
PARSED_KINDS = {
    "timestamp": "a date/time",
    "date": "a date",
    "month": "a month (2024-01, 2024/1, 2024年1月)",
    "money": "an amount",
    "number": "a number",
    "bool": "yes/no",
    "int": "a whole number",
}


def _bad_columns(table: Table, src_of: dict[str, str], derived_amount: bool) -> list[str]:
    """The columns whose unparsed cells the typed table keeps, in the order of its `_bad` list:
    the mapped parsed columns, then an amount derived from quantity × unit price. One list
    column, NULL on a good row, costs a tenth of a NULL column per checked column."""
    cols = [c.name for c in table.columns if c.name in src_of and c.kind in PARSED_KINDS]
    return [*cols, "amount"] if derived_amount else cols


def _bad_ref(bad_cols: list[str], name: str) -> str:
    """The typed table's raw text of column `name` where it did not parse (else NULL)."""
    return f"_bad[{bad_cols.index(name) + 1}]"


def _check_values(
    con: db.Connection,
    report: FileReport,
    table: Table,
    stage: str,
    src_of: dict[str, str],
    skip_bad_rows: bool,
    derived_amount: bool = False,
    delete: bool = True,
) -> str | None:
    """Count unparseable, implausible and missing values; collect row/value examples.
    `derived_amount`: the amount is quantity × unit price (a product too large is counted).
    The rejected rows are deleted from the typed table unless `delete` is false: then their
    condition is returned (else None) for _finish_stage to leave them out."""
    src_name = {v: k for k, v in report.mapping.items()}
    n_notes = len(report.warnings)  # the rejection notes added below follow
    now = dt.datetime.now() + dt.timedelta(days=config.FUTURE_TOLERANCE_DAYS)
    # Data rows start at row 2 (the header is row 1), as a spreadsheet numbers them.
    bad_conds: list[tuple[str, str, str, str]] = []  # (column, condition, reason, reason key)
    bad_cols = _bad_columns(table, src_of, derived_amount)
    for col in table.columns:
        if col.name not in src_of:
            continue
        if col.kind in PARSED_KINDS:
            bad_conds.append(
                (
                    col.name,
                    f"{_bad_ref(bad_cols, col.name)} IS NOT NULL",
                    f"not {PARSED_KINDS[col.kind]}",
                    f"not_{col.kind}",
                )
            )
        if col.kind in ("timestamp", "date", "month"):
            bad_conds.append(
                (col.name, f"{col.name} < TIMESTAMP '1900-01-01'", "before 1900", "before_1900")
            )
            if col.name in EVENT_COLUMNS:
                bad_conds.append(
                    (
                        col.name,
                        f"{col.name} > TIMESTAMP '{now:%Y-%m-%d %H:%M:%S}'",
                        "in the future",
                        "future",
                    )
                )
        if col.name == "satisfaction":
            bad_conds.append(
                (col.name, "satisfaction NOT BETWEEN 1 AND 5", "not a 1-5 score", "not_score")
            )
    if derived_amount:
        bad_conds.append(
            (
                "amount",
                f"{_bad_ref(bad_cols, 'amount')} IS NOT NULL",
                "quantity × unit price is too large for an amount",
                "amount_too_large",
            )
        )
    reject_conds: list[str] = []
    for colname, cond, reason, reason_key in bad_conds:
        n, ex = _count_examples(
            con,
            stage,
            cond,
            _bad_ref(bad_cols, colname) if "_bad[" in cond else f"CAST({colname} AS VARCHAR)",
        )
        if n:
            p = Problem(colname, f"{reason}", n, ex, src_name.get(colname), reason_key)
            if skip_bad_rows:
                text = p.describe(report.file_name) + " — rows rejected"
                report.warnings.append(
                    Note(text, "rows_rejected", file=report.file_name, problem=p)
                )
                reject_conds.append(cond)
                _save_rejects(con, stage, cond, colname, reason, bad_cols)
            else:
                report.errors.append(p)
    if report.errors:
        report.errors.append(
            Problem(
                None,
                "nothing was loaded. Fix the values, choose the date "
                "order, or load with 'skip bad rows' to reject just those rows",
                key="nothing_loaded",
            )
        )
        return None
    # Blank required values: the row cannot be keyed; it is rejected and counted, not guessed.
    # A row already rejected above for an unparseable value is not "missing" as well.
    bad_rows = " OR ".join(f"({c})" for c in reject_conds)
    not_bad = f" AND NOT coalesce({bad_rows}, FALSE)" if bad_rows else ""
    for req in table.required:
        if req == "amount" and req not in src_of:
            cond = "amount IS NULL"
        elif req not in src_of:
            continue
        else:
            cond = f"{req} IS NULL"
        cond += not_bad
        n, ex = _count_examples(con, stage, cond, "NULL")
        if n:
            rows = ", ".join(str(r) for r, _ in ex)
            report.warnings.append(
                Note(
                    f"{report.file_name}: {n} row(s) have no {src_name.get(req, req)} ({req}) and "
                    f"were rejected, e.g. rows {rows}",
                    "missing_required_rows",
                    file=report.file_name,
                    n=n,
                    field=req,
                    header=src_name.get(req, ""),
                    rows=rows,
                )
            )
            reject_conds.append(cond)
            _save_rejects(con, stage, cond, req, "required value missing", bad_cols)
    present = [c for c in table.one_of if c in src_of]
    if present:
        cond = " AND ".join(f"{c} IS NULL" for c in present) + not_bad
        n, ex = _count_examples(con, stage, cond, "NULL")
        if n:
            rows = ", ".join(str(r) for r, _ in ex)
            report.warnings.append(
                Note(
                    f"{report.file_name}: {n} row(s) name neither {' nor '.join(present)} and "
                    f"were rejected, e.g. rows {rows}",
                    "neither_rows",
                    file=report.file_name,
                    n=n,
                    fields=present,
                    rows=rows,
                )
            )
            reject_conds.append(cond)
            _save_rejects(con, stage, cond, present[0], "required value missing", bad_cols)
    where = " OR ".join(f"({c})" for c in reject_conds) if reject_conds else None
    if where and delete:
        con.execute(f"DELETE FROM {stage}_typed WHERE {where}")
    kept = _kept(None if delete else where)
    report.rows_loaded = con.execute(f"SELECT count(*) FROM {stage}_typed{kept}").fetchone()[0]  # type: ignore[index]
    report.rows_rejected = report.rows_read - report.rows_loaded
    if report.rows_loaded == 0:
        why = [w.removeprefix(f"{report.file_name}: ") for w in report.warnings[n_notes:]]
        report.errors.append(
            Problem(
                None,
                "every row was rejected; nothing to load: " + "; ".join(why),
                key="all_rejected",
                params={"notes": report.warnings[n_notes:]},
            )
        )
    return None if delete else where


def _kept(rejected: str | None) -> str:
    """A WHERE clause leaving out the rows of the condition `rejected` (none: no clause)."""
    return f" WHERE NOT coalesce({rejected}, FALSE)" if rejected else ""


def _count_examples(
    con: db.Connection, stage: str, cond: str, value_expr: str
) -> tuple[int, list[tuple[int | None, str | None]]]:
    n = con.execute(f"SELECT count(*) FROM {stage}_typed WHERE {cond}").fetchone()[0]  # type: ignore[index]
    if not n:
        return 0, []
    rows = con.execute(
        f"SELECT rowid + 2, {value_expr} FROM {stage}_typed WHERE {cond} ORDER BY rowid LIMIT {EXAMPLES}"
    ).fetchall()
    return n, [(int(r), None if v is None else str(v)[:80]) for r, v in rows]


def _save_rejects(
    con: db.Connection, stage: str, cond: str, column: str, reason: str, bad_cols: list[str]
) -> None:
    con.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage}_rejects (row_number BIGINT, column_name VARCHAR, "
        "value VARCHAR, reason VARCHAR)"
    )
    bad = _bad_ref(bad_cols, column) if column in bad_cols else "NULL"
    con.execute(
        f"INSERT INTO {stage}_rejects SELECT rowid + 2, $col, COALESCE({bad}, "
        f"CAST({column} AS VARCHAR)), $reason FROM {stage}_typed WHERE {cond}",
        {"col": column, "reason": reason},
    )


def _stage_columns(con: db.Connection, stage: str) -> set[str]:
    return {r[0] for r in con.execute(f"DESCRIBE {stage}_typed").fetchall()}


def _return_expr(c_prefix: bool) -> str:
    """Whether an order line is a return or cancellation, over the typed order columns:
    a negative amount or quantity, a return word as its status, or (`c_prefix`) a
    "C536379"-style cancellation invoice."""
    words = ", ".join(f"'{w}'" for w in RETURN_WORDS)
    return (
        f"(coalesce(amount < 0, FALSE) OR coalesce(quantity < 0, FALSE) "
        f"OR coalesce(lower(status) IN ({words}), FALSE)"
        + (" OR regexp_full_match(order_id, 'C\\d+')" if c_prefix else "")
        + ")"
    )


def _finish_stage(
    con: db.Connection,
    report: FileReport,
    table: Table,
    stage: str,
    persist: bool = False,
    rejected: str | None = None,
) -> None:
    """Derive line numbers and return flags, check primary keys, build the final stage table.

    `persist`: the typed table is a table of the database itself, holding the rows of the
    condition `rejected` still: the final stage becomes a table of the canonical columns the
    swap renames into place (the typed table itself where no column is derived from others),
    instead of a view the swap copies from."""
    kept = _kept(rejected)
    cols = [c.name for c in table.all_columns]
    mapped = set(report.mapping.values())
    if table.name == "orders":
        # A line-item export (quantity and unit price, or a product and its quantity, per row)
        # repeats the order id on each line. An export without order numbers gets one order per
        # customer per day (a member system's purchase log), its rows the lines of that order.
        derived_id = "order_id" not in mapped
        report.line_items = (
            derived_id or {"quantity", "unit_price"} <= mapped or {"product", "quantity"} <= mapped
        )
        oid = (
            "customer_id || ' ' || strftime(CAST(order_date AS DATE), '%Y-%m-%d')"
            if derived_id
            else "order_id"
        )
        # "C536379"-style cancellation invoices, only when the same file also has plain numbers.
        c_prefix = all(
            con.execute(
                f"SELECT 1 FROM {stage}_typed{kept}{' AND' if kept else ' WHERE'} {cond} LIMIT 1"
            ).fetchone()
            for cond in (
                "starts_with(order_id, 'C') AND regexp_full_match(order_id, 'C\\d+')",
                "regexp_full_match(order_id, '\\d+')",
            )
        )
        ret = _return_expr(c_prefix)
        line = (
            f"row_number() OVER (PARTITION BY {oid} ORDER BY rowid)" if report.line_items else "1"
        )
        exprs = [
            f"CAST({line} AS BIGINT) AS line_no"
            if c == "line_no"
            else f"{ret} AS is_return"
            if c == "is_return"
            else f"{oid} AS order_id"
            if c == "order_id"
            else c
            for c in cols
        ]
        if derived_id:
            report.warnings.append(
                Note(
                    f"{report.file_name}: no order number column: one order per customer per day "
                    "(order id = customer id + date)",
                    "no_order_id",
                    file=report.file_name,
                )
            )
        key_cols = ["order_id", "line_no"] if report.line_items else ["order_id"]
    else:
        exprs = list(cols)
        if table.name == "interactions" and "interaction_id" not in mapped:
            exprs[cols.index("interaction_id")] = (
                "$prefix || '-' || CAST(rowid + 2 AS VARCHAR) AS interaction_id"
            )
        key_cols = list(table.key)
        oid = ""
    windowed = report.line_items and _repeats(con, f"{stage}_typed", oid, kept)
    if report.line_items and not windowed:
        exprs = [
            "CAST(1 AS BIGINT) AS line_no" if c == "line_no" else e
            for c, e in zip(cols, exprs, strict=True)
        ]
    # Keys made unique by construction need no check: line numbers count the lines of each
    # order (order id + line number), a derived interaction id holds the file row. Checked
    # keys are typed columns as they are, so the check reads the typed table.
    unique_by_construction = report.line_items or "$prefix" in " ".join(exprs)
    if not unique_by_construction:
        _check_keys(con, report, table, f"{stage}_typed{kept}", key_cols)
    select = f"SELECT {', '.join(exprs)} FROM {stage}_typed{kept}".replace(
        "$prefix",
        "'" + report.sha256[:10] + "'",  # hex digits: safe as a literal
    )
    # Sorting by file row restores the file's order where a window may have changed it; a
    # plain scan keeps it by itself (DuckDB's preserve_insertion_order).
    order = " ORDER BY rowid" if windowed else ""
    # Columns other than the typed ones: line numbers over repeating orders, derived ids.
    computed = windowed or any(
        e not in (c, f"{c} AS {c}") and c not in ("line_no", "is_return")
        for c, e in zip(cols, exprs, strict=True)
    )
    if not persist:
        # A view over the typed table: the swap's INSERT reads the typed rows once, instead of
        # a second staging copy here and the INSERT's copy of that. Only line numbers over
        # orders that repeat (a window, which can reorder rows) are materialised.
        if windowed:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {stage} AS {select}{order}")
            con.execute(f"DROP TABLE {stage}_typed")
        else:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {stage} AS {select}")
    elif computed:
        con.execute(f"CREATE OR REPLACE TABLE {stage} AS {select}{order}")
        con.execute(f"DROP TABLE {stage}_typed")
    else:
        # Every column is the typed one (line_no and is_return were typed with the rest): the
        # typed table becomes the stage without a copy, the rejected rows deleted. Nothing
        # reads a row number after the delete, whose checkpoint may renumber rows.
        if rejected:
            con.execute(f"DELETE FROM {stage}_typed WHERE {rejected}")
        if table.name == "orders" and c_prefix:
            con.execute(f"UPDATE {stage}_typed SET is_return = TRUE WHERE {ret} AND NOT is_return")
        for c in _stage_columns(con, stage) - set(cols):
            con.execute(f"ALTER TABLE {stage}_typed DROP COLUMN {c}")
        con.execute(f"ALTER TABLE {stage}_typed RENAME TO {stage}")
    if table.name == "orders":
        n_ret = con.execute(f"SELECT count(*) FROM {stage} WHERE is_return").fetchone()[0]  # type: ignore[index]
        if n_ret:
            report.warnings.append(
                Note(
                    f"{report.file_name}: {n_ret} return/cancellation line(s) "
                    "flagged; value figures subtract them (net of returns)",
                    "returns_flagged",
                    file=report.file_name,
                    n=n_ret,
                )
            )
        if report.line_items:
            derived = "amount" not in mapped
            report.warnings.append(
                Note(
                    f"{report.file_name}: line-item export: lines sharing an order "
                    "id are one order" + ("; amount = quantity × unit price" if derived else ""),
                    "line_items_derived" if derived else "line_items",
                    file=report.file_name,
                )
            )
    ignored = [h for h in report.headers if h not in report.mapping]
    if ignored:
        report.warnings.append(
            Note(
                f"{report.file_name}: columns not used: {ignored[:20]}"
                + (" …" if len(ignored) > 20 else ""),
                "columns_not_used",
                file=report.file_name,
                columns=ignored[:20],
                more=len(ignored) > 20,
            )
        )
    report.stage = stage


def _check_keys(
    con: db.Connection, report: FileReport, table: Table, rows: str, key_cols: list[str]
) -> None:
    """Report keys on more than one row of `rows` (a table and its WHERE clause), with the file
    rows of the first examples (rowid + 2: the header is row 1)."""
    k = ", ".join(key_cols)
    if not _repeats(con, rows, k):
        return  # the usual case, found without gathering every key's rows
    dups = con.execute(
        f"SELECT {k}, count(*) AS n, list(rowid + 2 ORDER BY rowid)[1:3] FROM {rows} "
        f"GROUP BY {k} HAVING count(*) > 1 ORDER BY min(rowid) LIMIT {EXAMPLES}"
    ).fetchall()
    if not dups:
        return
    n = con.execute(
        f"SELECT count(*) FROM (SELECT {k} FROM {rows} GROUP BY {k} HAVING count(*) > 1)"
    ).fetchone()[0]  # type: ignore[index]
    hint = (
        " (a line-item export needs quantity and unit price columns so that lines of one "
        "order are told apart)"
        if table.name == "orders"
        else ""
    )
    report.errors.append(
        Problem(
            key_cols[0],
            f"duplicate {' + '.join(key_cols)}{hint}",
            n,
            [(rows_[0], "/".join(str(x) for x in key)) for *key, _, rows_ in dups],
            {v: s for s, v in report.mapping.items()}.get(key_cols[0]),
            "duplicate_line" if hint else "duplicate",
            # The rows each example key is on; `count` counts keys, not rows.
            {"fields": key_cols, "dup_rows": [list(r) for *_, r in dups]},
        )
    )


def _repeats(con: db.Connection, typed: str, key: str, kept: str = "") -> bool:
    """Whether any value of the expression `key` is on more than one row of table `typed`
    (`kept`: a WHERE clause of the rows that count)."""
    return bool(
        con.execute(
            f"SELECT 1 FROM {typed}{kept} GROUP BY {key} HAVING count(*) > 1 LIMIT 1"
        ).fetchone()
    )


def _key_expr(table: str) -> str:
    """The upsert key of a table as one SQL expression (a column name for every table but the
    spend table, whose key is channel + month). Orders upsert by order id: appending an order
    replaces all of its lines."""
    if table == "orders":
        return "order_id"
    if table == "marketing_spend":
        return "(channel || '|' || CAST(month AS VARCHAR))"
    return TABLES[table].key[0]


def _key_name(table: str) -> str:
    """The column holding _key_expr in a `_keys` table (the key column itself, or spend_key)."""
    return "spend_key" if table == "marketing_spend" else _key_expr(table)


def _check_batch(cur: db.Connection, reports: list[FileReport]) -> None:
    """Keys duplicated across files of one table in the same batch."""
    by_table: dict[str, list[FileReport]] = {}
    for r in reports:
        by_table.setdefault(r.table or "", []).append(r)
    for table, rs in by_table.items():
        if len(rs) < 2:
            continue
        k, name = _key_expr(table), _key_name(table)
        union = " UNION ALL ".join(f"SELECT DISTINCT {k} AS {name} FROM {r.stage}" for r in rs)
        dup = cur.execute(
            f"SELECT {name} FROM ({union}) GROUP BY {name} HAVING count(*) > 1 LIMIT 5"
        ).fetchall()
        if dup:
            rs[-1].errors.append(
                Problem(
                    name,
                    f"the same {name} appears in several {table} files of this load",
                    len(dup),
                    [(None, str(d[0])) for d in dup],
                    key="same_key_files",
                    params={"field": k, "table": table},
                )
            )
