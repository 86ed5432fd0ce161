"""Message catalogue (zh-CN / en) and number formatting; one table per feature in messages/."""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
MISSING = "–"  # how a missing value is shown, in tables and tiles alike
_DIR = Path(__file__).resolve().parent / "messages"


class MissingMessage(KeyError):
    """A key that is not in the catalogue, or lacks one of the languages."""


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """All messages: key -> {"zh": ..., "en": ...}, merged from messages/*.toml."""
    out: dict[str, dict[str, str]] = {}
    for f in sorted(_DIR.glob("*.toml")):
        with open(f, "rb") as fh:
            data = tomllib.load(fh)
        for key, texts in _flatten(data):
            if key in out:
                raise ValueError(f"message key {key!r} defined twice (second time in {f.name})")
            out[key] = texts
    return out


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, dict[str, str]]]:
    items = []
    for k, v in data.items():
        if (
            isinstance(v, dict)
            and set(v) <= set(LANGS)
            and all(isinstance(x, str) for x in v.values())
        ):
            items.append((prefix + k, v))
        elif isinstance(v, dict):
            items += _flatten(v, f"{prefix}{k}.")
    return items


def t(key: str, lang: str = DEFAULT_LANG, **kwargs: Any) -> str:
    """The message `key` in `lang`, with {placeholders} filled from kwargs."""
    try:
        text = catalogue()[key][lang]
    except KeyError as e:
        raise MissingMessage(f"{key!r} ({lang})") from e
    return text.format(**kwargs) if kwargs else text


def has(key: str) -> bool:
    """Whether the catalogue has `key`."""
    return key in catalogue()


def table_label(table: str, lang: str = DEFAULT_LANG) -> str:
    """A data table's name for people: orders -> 订单 (the name itself when unknown)."""
    return t(f"table.{table}", lang) if has(f"table.{table}") else table


def field_label(column: str, lang: str = DEFAULT_LANG) -> str:
    """A canonical field's name for people: order_id -> 订单编号; "" (unmapped) -> （不导入）."""
    if not column:
        return t("field.unmapped", lang)
    return t(f"field.{column}", lang) if has(f"field.{column}") else column


def encoding_label(encoding: str, lang: str = DEFAULT_LANG) -> str:
    """A text encoding as the Data page names it: utf-8-sig -> UTF-8（带 BOM）."""
    key = f"encoding_name.{encoding.lower()}"
    return t(key, lang) if has(key) else encoding.upper()


_DELIMITERS = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}


def delimiter_label(delimiter: str, lang: str = DEFAULT_LANG) -> str:
    """A CSV delimiter in words: "," -> 逗号; another character as itself, quoted."""
    name = _DELIMITERS.get(delimiter)
    return t(f"delimiter.{name}", lang) if name else repr(delimiter)


def value_label(prefix: str, value: Any, lang: str = DEFAULT_LANG) -> str:
    """A stored code shown in words, from message `prefix.<value>` (the value when unknown)."""
    key = f"{prefix}.{value}"
    return t(key, lang) if has(key) else str(value)


# Result columns by what they hold (crm_core names), for the format of table cells.
_MONEY_COLUMN = re.compile(
    r"(?:^|_)(?:revenue|amount|monetary|clv|value|spend|paid|compensation|cost|price|profit|cac)"
    r"(?:_|$)"
)
_HOURS_COLUMN = re.compile(r"(?:^|_)(?:h|hours)(?:_|$)")
_DAYS_COLUMN = re.compile(r"(?:^|_)days(?:_|$)")


def is_money(column: Any) -> bool:
    """Whether a crm_core result column or KPI holds money (revenue, clv, paid, …); a ratio of
    two amounts (clv_to_cac) is not money."""
    return "_to_" not in str(column) and bool(_MONEY_COLUMN.search(str(column)))


def number_format(column: Any, currency: str = "¥") -> str | None:
    """The printf format of a numeric table column (st.column_config.NumberColumn): money with
    the currency and 2 decimals (¥1,234.50), hours with one decimal, days whole, all with
    thousands separators; None for other columns (counts, shares: formatted elsewhere)."""
    name = str(column)
    if is_money(name):
        return currency.replace("%", "%%") + "%,.2f"
    if _HOURS_COLUMN.search(name):
        return "%,.1f"
    if _DAYS_COLUMN.search(name):
        return "%,.0f"
    return None


def fmt_number(x: Any, lang: str = DEFAULT_LANG, decimals: int = 0) -> str:
    """A number for people: 1,234,567 in English; 123.5万 / 1.2亿 in Chinese when large."""
    if x is None:
        return "–"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if v != v:  # NaN
        return "–"
    if lang == "zh":
        a = abs(v)
        if a >= 1e8:
            return f"{v / 1e8:,.2f}亿"
        if a >= 1e4:
            return f"{v / 1e4:,.1f}万"
    return f"{v:,.{decimals}f}"


# Units of the compact form, largest first; a number is shortened from 10,000 on.
_COMPACT_UNITS = {
    "en": ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")),
    "zh": ((1e12, "万亿"), (1e8, "亿"), (1e4, "万")),
}
_COMPACT_FROM = 1e4


def fmt_compact(x: Any, lang: str = DEFAULT_LANG, decimals: int = 0) -> str:
    """A number short enough for a metric tile, about three significant digits:
    13.7K, 481M, 1.27B in English; 1.37万, 4.81亿 in Chinese. Below 10,000 as fmt_number."""
    if x is None:
        return MISSING
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if v != v:  # NaN
        return MISSING
    units = _COMPACT_UNITS.get(lang, _COMPACT_UNITS["en"])
    if abs(v) < _COMPACT_FROM:
        return fmt_number(v, lang, decimals)
    for i, (size, unit) in enumerate(units):
        if abs(v) < size:
            continue
        if i > 0 and abs(round(v / size)) >= units[i - 1][0] / size:
            size, unit = units[i - 1]  # 999,999 is 1.00M, not 1,000K
        scaled = v / size
        digits = 2 if abs(scaled) < 9.995 else 1 if abs(scaled) < 99.95 else 0
        return f"{scaled:,.{digits}f}{unit}"
    return fmt_number(v, lang, decimals)  # pragma: no cover - every unit is below _COMPACT_FROM


def fmt_exact(x: Any, decimals: int = 0) -> str:
    """Every digit, with thousands separators (what fmt_compact shortened): 480,706,782."""
    return fmt_number(x, "en", decimals)


def fmt_pct(x: Any, decimals: int = 1) -> str:
    """0.7123 -> '71.2%'."""
    if x is None:
        return MISSING
    v = float(x)
    return MISSING if v != v else f"{v * 100:.{decimals}f}%"


def fmt_change(x: Any, decimals: int = 1) -> str:
    """A relative change with its sign: 0.152 -> '+15.2%'."""
    if x is None:
        return MISSING
    v = float(x)
    return MISSING if v != v else f"{v * 100:+.{decimals}f}%"


def fmt_date(d: Any, lang: str = DEFAULT_LANG) -> str:
    """2024-01-31 -> '2024年1月31日' (zh) or '2024-01-31' (en)."""
    if d is None:
        return "–"
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else f"{d:%Y-%m-%d}"


def currency(lang: str = DEFAULT_LANG) -> str:
    """The currency symbol money is shown with in `lang` (config.currency: $CRM_LENS_CURRENCY,
    else ¥ in Chinese and none in English)."""
    from crm_core.engine import config

    return config.currency(lang)


def month_tickformat(lang: str = DEFAULT_LANG) -> str:
    """Plotly tick format for monthly axes."""
    return "%Y年%m月" if lang == "zh" else "%b %Y"


def _joined(values: Any, lang: str, label: Any = str) -> str:
    if isinstance(values, (list, tuple)):
        return t("filters.joiner", lang).join(label(v) for v in values)
    return label(values)


def note_text(note: Any, lang: str = DEFAULT_LANG, esc: Any = str) -> str:
    """An ingest warning (ingest.Note) in `lang`; the English text when it names no message.
    `esc` escapes what the user chose (file names, headers) for where it is shown."""
    key = getattr(note, "key", "")
    if not key or not has(f"ingest.note.{key}"):
        return esc(str(note))
    return t(f"ingest.note.{key}", lang, **_params(note.params, lang, esc))


def problem_text(problem: Any, file_name: str, lang: str = DEFAULT_LANG, esc: Any = str) -> str:
    """An ingest error (ingest.Problem) of `file_name` in `lang`: where, what, how many rows and
    the first examples; its English description when it names no message."""
    key = getattr(problem, "key", "")
    if not key or not has(f"ingest.problem.{key}"):
        return esc(problem.describe(file_name))
    params = _params(problem.params, lang, esc)
    if key == "ambiguous":
        params["n"] = len(problem.params.get("headers", []))
    params.setdefault("headers", "")
    parts = [t(f"ingest.problem.{key}", lang, **params)]
    if problem.column:
        field = field_label(problem.column, lang)
        parts.insert(
            0,
            t("ingest.where", lang, header=esc(problem.source_column), field=field)
            if problem.source_column
            else t("ingest.where_field", lang, field=field),
        )
    tail = []
    dup_rows = problem.params.get("dup_rows")
    if dup_rows is not None:  # a duplicated key: count keys, and say the rows each is on
        tail.append(t("ingest.count_values", lang, n=fmt_exact(problem.count)))
    elif problem.count > 1 or len(problem.examples) > 1:
        tail.append(t("ingest.count", lang, n=fmt_exact(problem.count)))
    examples = [
        " ".join(
            x
            for x in (
                t("ingest.example_row", lang, row=r) if r is not None else "",
                f"“{esc(v)}”" if v is not None else "",
            )
            if x
        )
        for r, v in problem.examples
    ]
    if dup_rows is not None:
        joiner = t("filters.joiner", lang)
        examples = [
            t("ingest.example_dup", lang, value=esc(v), rows=joiner.join(map(str, rows)))
            for (_, v), rows in zip(problem.examples, dup_rows, strict=True)
        ]
    elif problem.count == 1 and len(examples) == 1:
        # One place in the file: where it is, not "1 row, e.g.".
        tail.append(t("ingest.at", lang, where=examples[0]))
        examples = []
    if examples:
        tail.append(t("ingest.examples", lang, examples=t("filters.joiner", lang).join(examples)))
    sep = "：" if lang == "zh" else ": "
    comma = "，" if lang == "zh" else ", "
    return esc(file_name) + sep + sep.join(parts) + (comma + comma.join(tail) if tail else "")


def _field_or(field: Any, lang: str) -> str:
    """A field's label, or alternatives' labels joined by "or" (a list: any one of them)."""
    if isinstance(field, (list, tuple)):
        return t("ingest.or", lang).join(field_label(str(f), lang) for f in field)
    return field_label(str(field), lang)


def _params(params: dict[str, Any], lang: str, esc: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in params.items():
        if name == "dup_rows":  # problem_text shows them with the examples
            continue
        if name == "encoding":
            out[name] = encoding_label(str(value), lang)
        elif name in ("kind", "hint"):  # what a binary file is, what to do: message keys
            out[name] = t(f"ingest.{name}.{value}", lang)
        elif name in ("field", "fields"):
            out[name] = _joined(value, lang, lambda c: _field_or(c, lang))
        elif name == "table":
            out[name] = table_label(str(value), lang)
        elif name == "problem":
            out[name] = problem_text(value, params.get("file", ""), lang, esc)
        elif name == "notes":
            out[name] = "；".join(note_text(n, lang, esc) for n in value)
        elif name == "more":
            out[name] = t("ingest.more", lang) if value else ""
        elif isinstance(value, int) and not isinstance(value, bool):
            out[name] = fmt_exact(value)
        else:
            out[name] = _joined(value, lang, lambda v: esc(str(v)))
    return out
