"""Type: SQL turning text cells into ids, money, numbers, dates, months, yes/no; date order."""

from __future__ import annotations

from crm_core.engine import db

TRUE_WORDS = ("yes", "y", "true", "t", "1", "是", "及时", "对")
FALSE_WORDS = ("no", "n", "false", "f", "0", "否", "不及时", "错")


def _clean_text(c: str) -> str:
    return f"NULLIF(trim({c}), '')"


def _decimal_comma(s: str) -> str:
    """Thousands commas dropped; a decimal comma ("1.234,50", "99,5", "12,00") made a point.
    A single comma before exactly three digits ("1,234") stays a thousands separator."""
    return (
        f"CASE WHEN regexp_full_match({s}, '[^,]*\\d\\.\\d{{3}}[^,]*,\\d+\\D*') "
        f"OR regexp_full_match({s}, '[^.,]*\\d,(\\d{{1,2}}|\\d{{4,}})\\D*') "
        f"THEN replace(replace({s}, '.', ''), ',', '.') ELSE replace({s}, ',', '') END"
    )


def _money_expr(c: str) -> str:
    s = f"regexp_replace(trim({c}), '[¥￥$€£\\s\u00a0]|RMB|CNY|USD|EUR|元', '', 'g')"
    s = _decimal_comma(s)
    # Accounting negatives "(1,234.50)" and trailing minus "1234-" become "-1234.50".
    s = (
        f"CASE WHEN {s} LIKE '(%)' THEN '-' || trim({s}, '()') "
        f"WHEN {s} LIKE '%-' AND {s} NOT LIKE '-%' THEN '-' || rtrim({s}, '-') ELSE {s} END"
    )
    return f"TRY_CAST({s} AS DECIMAL(18,4))"


def _number_expr(c: str) -> str:
    s = _decimal_comma(f"regexp_replace(trim({c}), '\\s', '', 'g')")
    v = f"TRY_CAST({s} AS DOUBLE)"
    return f"CASE WHEN isfinite({v}) THEN {v} END"


def _date_formats(order: str) -> list[str]:
    times = ["", " %H:%M:%S", " %H:%M", " %H:%M:%S.%f", " %I:%M:%S %p", " %I:%M %p"]
    fmts: list[str] = []
    for d in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"):
        fmts += [d + t for t in times]
        if d == "%Y-%m-%d":
            fmts += ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S.%f"]
    fmts += ["%Y年%m月%d日%H:%M:%S", "%Y年%m月%d日%H:%M", "%Y年%m月%d日 %H时%M分"]
    first, second = ("%d", "%m") if order == "dmy" else ("%m", "%d")
    for sep in ("/", "-", "."):
        for y in ("%Y", "%y"):
            fmts += [f"{first}{sep}{second}{sep}{y}{t}" for t in times]
    fmts += ["%Y%m%d", "%Y%m%d%H%M%S", "%d %b %Y", "%d-%b-%Y", "%b %d, %Y", "%d %B %Y", "%B %d, %Y"]
    return fmts


def _timestamp_text(c: str) -> str:
    return f"regexp_replace(trim({c}), '(T\\d{{2}}:\\d{{2}}(:\\d{{2}}(\\.\\d+)?)?)(Z|[+-]\\d{{2}}:?\\d{{2}})$', '\\1')"


def _sql_str(x: str) -> str:
    return "'" + x.replace("'", "''") + "'"


def _timestamp_expr(c: str, order: str, usual: str | None = None) -> str:
    s = _timestamp_text(c)
    fmts = ", ".join(_sql_str(f) for f in _date_formats(order))
    # try_strptime over the list pays for every format that fails (about 1 µs each, 12 s per
    # million "2024/1/31 9:05" values): the column's usual format first, the list for the rest.
    first = f"try_strptime({s}, {_sql_str(usual)}), " if usual else ""
    serial = (
        f"CASE WHEN regexp_full_match(trim({c}), '[1-9]\\d{{4}}(\\.\\d+)?') THEN "
        f"TIMESTAMP '1899-12-30' + to_microseconds(CAST(round(CAST(trim({c}) AS DOUBLE) "
        f"* 86400000000) AS BIGINT)) END"
    )
    return f"coalesce({first}try_strptime({s}, [{fmts}]), {serial})"


def _usual_formats(
    con: db.Connection, raw: str, params: dict, cols: list[str], order: str
) -> dict[str, str]:
    """Per date column, the format that try_strptime's list picks most often in a sample: the
    list tries formats in order, so this is the first format that parses those values."""
    if not cols:
        return {}
    fmts = _date_formats(order)
    firsts = [
        "mode(list_position(["
        + ", ".join(f"try_strptime({_timestamp_text(c)}, {_sql_str(f)}) IS NOT NULL" for f in fmts)
        + "], true))"
        for c in cols
    ]
    row = con.execute(f"SELECT {', '.join(firsts)} FROM (SELECT * FROM {raw} LIMIT 200)", params)
    picked = row.fetchone() or ()
    return {c: fmts[int(k) - 1] for c, k in zip(cols, picked, strict=True) if k}


# A month as exported: 2024-01, 2024/1, 2024.1, 2024年1月, 202401 (a full date counts as its month).
MONTH_FORMATS = ("%Y-%m", "%Y/%m", "%Y.%m", "%Y年%m月", "%Y%m")


def _month_expr(c: str, order: str) -> str:
    fmts = ", ".join(_sql_str(f) for f in MONTH_FORMATS)
    s = _timestamp_text(c)
    return (
        f"CAST(date_trunc('month', coalesce(try_strptime({s}, [{fmts}]), "
        f"try_strptime({s}, [{', '.join(_sql_str(f) for f in _date_formats(order))}]))) AS DATE)"
    )


def _bool_expr(c: str) -> str:
    t = ", ".join(f"'{w}'" for w in TRUE_WORDS)
    f = ", ".join(f"'{w}'" for w in FALSE_WORDS)
    v = f"lower(trim({c}))"
    return f"CASE WHEN {v} IN ({t}) THEN TRUE WHEN {v} IN ({f}) THEN FALSE END"


def _id_expr(c: str) -> str:
    # Excel and pandas write numeric ids as floats ("13607.0"); the ".0" is not part of the id.
    return f"NULLIF(regexp_replace(trim({c}), '^(\\d+)\\.0+$', '\\1'), '')"


def _typed_expr(kind: str, c: str, order: str, usual: str | None = None) -> str:
    return {
        "id": _id_expr,
        "text": _clean_text,
        "money": _money_expr,
        "number": _number_expr,
        "int": lambda x: f"TRY_CAST(trim({x}) AS BIGINT)",
        "bool": _bool_expr,
        "timestamp": lambda x: _timestamp_expr(x, order, usual),
        "date": lambda x: f"CAST({_timestamp_expr(x, order, usual)} AS DATE)",
        "month": lambda x: _month_expr(x, order),
    }[kind](c)


def _date_order(
    con: db.Connection, raw: str, params: dict, cols: list[str], default: str
) -> tuple[str, bool]:
    """'dmy' or 'mdy' from the data (a first part > 12 means day-first); bool = was ambiguous."""
    if not cols:
        return default, False
    # One match per value: its first and second parts, '' where it is not d/m/y-like.
    pattern = "'^(\\d{1,2})[/.-](\\d{1,2})[/.-]\\d{2,4}'"
    parts = [
        f"regexp_extract(trim({c}), {pattern}, ['a', 'b']) AS p{i}" for i, c in enumerate(cols)
    ]
    maxes = [
        f"max(TRY_CAST(p{i}.a AS INT)), max(TRY_CAST(p{i}.b AS INT))" for i in range(len(cols))
    ]
    row = con.execute(
        f"SELECT {', '.join(maxes)} FROM (SELECT {', '.join(parts)} FROM {raw} LIMIT 500000)",
        params,
    ).fetchone()
    vals = list(row or [])
    firsts = [v for v in vals[0::2] if v is not None]
    seconds = [v for v in vals[1::2] if v is not None]
    if not firsts:
        return default, False
    if max(firsts) > 12:
        return "dmy", False
    if seconds and max(seconds) > 12:
        return "mdy", False
    return default, True
